package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/redis"
	"github.com/dockercoins/dockercoins/test/testbed"
	goredis "github.com/redis/go-redis/v9"
)

// fsyncModes are the AOF settings compared, as redis-server arguments added to the
// shipped redis/redis.conf.
var fsyncModes = []struct {
	name string
	args []string
}{
	{"no AOF (the old Redis)", []string{"--appendonly", "no"}},
	{"AOF everysec", []string{"--appendfsync", "everysec"}},
	{"AOF always (shipped)", []string{"--appendfsync", "always"}},
}

// BenchmarkRedisDurability measures what the AOF's fsync policy costs: first the
// ledger's batches straight into Redis (the ceiling), then the whole app at its fastest
// (every delay 0, 8 workers), where batches arrive at the workers' flush rate. About a
// minute.
func BenchmarkRedisDurability(b *testing.B) {
	ledger := newTable("Redis durability: ledger batches applied per second (3 s each, 1 coin per 16 batches)",
		"setting", "clients", "batches/s", "p50 ms", "p99 ms")
	for _, m := range fsyncModes {
		r := testbed.StartRedis(b, m.args...)
		for _, clients := range []int{1, 8} {
			rate, p50, p99 := applyRate(b, r, clients, 3*time.Second)
			ledger.add(m.name, clients, rate, p50, p99)
		}
		r.Stop()
	}
	ledger.note("A worker sends one batch per flush (WORKER_FLUSH_EVERY, 1 s by default), whatever its loop rate.")

	loop := newTable("Redis durability: the raw loop (every delay 0, 8 workers flushing every 250 ms; 8 s each)",
		"setting", "loops/s", "batches/s", "redis CPU µs/batch")
	s := newStack(b, "0s")
	for _, m := range fsyncModes {
		s.redis = testbed.StartRedis(b, m.args...)
		s.scaleTo(b, 8, "0s")
		time.Sleep(2 * time.Second)
		c := s.redis.Client()
		calls0 := evalCalls(b, c)
		cpu0, _ := testbed.CPUTime(s.redis.PID())
		got := s.rate(0, 8*time.Second)
		cpu1, _ := testbed.CPUTime(s.redis.PID())
		batches := float64(evalCalls(b, c)-calls0) / 8
		c.Close()
		loop.add(m.name, got, batches, float64((cpu1-cpu0).Microseconds())/(batches*8))
		s.scaleTo(b, 0, "0s")
		s.redis.Stop()
	}
}

// applyRate applies batches from clients ledgers (one worker each) for d and returns
// the batches per second and the median and 99th percentile latency in ms.
func applyRate(b *testing.B, r *testbed.Redis, clients int, d time.Duration) (rate, p50, p99 float64) {
	var (
		mu   sync.Mutex
		lats []time.Duration
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := r.Client()
			defer c.Close()
			l := &redis.Ledger{Client: c, Worker: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)}
			var mine []time.Duration
			for seq := uint64(1); ctx.Err() == nil; seq++ {
				batch := dockercoins.Batch{Seq: seq, Hashes: 3, Seconds: map[int64]int64{time.Now().Unix(): 3}}
				if seq%16 == 0 {
					batch.Coins = map[string][]byte{coinHash(): make([]byte, 32)}
				}
				t0 := time.Now()
				if _, err := l.Apply(context.Background(), batch); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lats) == 0 {
		b.Fatal("no batch applied")
	}
	slices.Sort(lats)
	ms := func(q float64) float64 { return float64(lats[int(q*float64(len(lats)-1))].Microseconds()) / 1000 }
	return float64(len(lats)) / elapsed.Seconds(), ms(0.5), ms(0.99)
}

func coinHash() string {
	var b [32]byte
	rand.Read(b[:])
	return "0" + hex.EncodeToString(b[:])[1:]
}

// evalCalls is how many scripts Redis has run (EVAL and EVALSHA): one per batch.
func evalCalls(b *testing.B, c *goredis.Client) int64 {
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "cmdstat_eval" && name != "cmdstat_evalsha") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		v, _ := strconv.ParseInt(calls, 10, 64)
		n += v
	}
	return n
}
