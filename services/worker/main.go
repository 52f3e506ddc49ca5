// Command worker mines DockerCoins: it loops forever getting random bytes from rng,
// hashing them with hasher and counting each loop in Redis.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/dockercoins/dockercoins/internal/serve"
	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/dockercoins/dockercoins/mesh"
	"github.com/dockercoins/dockercoins/redis"
	"go.opentelemetry.io/otel"
)

func main() { serve.Main("worker", defaultAddr, run) }

type config struct {
	common       serve.Settings
	peers        mesh.Settings
	pause        time.Duration
	flushEvery   time.Duration
	drainTimeout time.Duration
}

// defaultAddr is the workshop's port for worker.
const defaultAddr = ":8003"

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c config
	s := settings.New("worker", stdout)
	c.common.Register(s, "worker", defaultAddr)
	c.common.Edge = true // called by people and agents, not by mesh peers
	c.peers.Register(s, "rng", "hasher", "redis")
	s.Duration(&c.pause, "pause", "WORKER_PAUSE", 100*time.Millisecond, "pause at the start of every loop")
	s.Duration(&c.flushEvery, "flush-every", "WORKER_FLUSH_EVERY", time.Second, "how often the count goes to Redis")
	s.Duration(&c.drainTimeout, "drain-timeout", "WORKER_DRAIN_TIMEOUT", 10*time.Second, "how long a stopping worker keeps trying to flush its count")
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	log, err := c.common.Logger(stdout)
	if err != nil {
		return err
	}
	identity, err := c.common.Identity(ctx, log)
	if err != nil {
		return err
	}
	peers, err := c.peers.Connect(ctx, log, identity)
	if err != nil {
		return err
	}
	defer peers.Close()
	hostname, _ := os.Hostname()
	id := hostname + "-" + randomHex(4)
	rdb := redis.NewClient(peers.Dialer("redis"))
	defer rdb.Close()

	rng := peers.Client("rng")
	hasher := peers.Client("hasher")
	tally := &Tally{}
	metrics, err := NewMetrics(otel.Meter("github.com/dockercoins/dockercoins/services/worker"), tally)
	if err != nil {
		return err
	}
	miner := &Miner{
		Pause: c.pause,
		Random: func(ctx context.Context) ([]byte, error) {
			return rng.Do(ctx, http.MethodGet, "/32", nil)
		},
		Hash: func(ctx context.Context, data []byte) (string, error) {
			out, err := hasher.Do(ctx, http.MethodPost, "/", data)
			return string(out), err
		},
		Tally:   tally,
		Log:     log,
		Metrics: metrics,
	}
	flusher := &Flusher{Ledger: &redis.Ledger{Client: rdb, Worker: id}, Tally: tally, Every: c.flushEvery, Log: log}

	log.Info("starting", "id", id, "pause", c.pause)
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { miner.Run(mctx) })
	wg.Go(func() { flusher.Run(mctx) })
	serveErr := c.common.Serve(mctx, log, NewServer(hostname, tally, flusher))
	stop()
	wg.Wait()

	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.drainTimeout)
	defer cancel()
	lost := flusher.Drain(dctx)
	loops, coins := tally.Totals()
	log.Info("stopped", "loops", loops, "coins", coins, "flushed", flusher.Flushed(), "lost", lost)
	if lost > 0 {
		return fmt.Errorf("redis unreachable for %s: %d hashes not counted", c.drainTimeout, lost)
	}
	return serveErr
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
