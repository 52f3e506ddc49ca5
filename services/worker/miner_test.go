package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/peer"
)

// fakeRNG answers with n bytes of fill, or fails while err is set. It stops the test's
// miner once it has answered stopAfter times.
type fakeRNG struct {
	mu        sync.Mutex
	fill      byte
	err       error
	asked     []int
	answered  int
	stopAfter int
	stop      context.CancelFunc
}

func (r *fakeRNG) Random(_ context.Context, n int) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, n)
	if r.err != nil {
		return nil, r.err
	}
	if r.answered++; r.answered == r.stopAfter {
		r.stop()
	}
	return bytes.Repeat([]byte{r.fill}, n), nil
}

// fakeHasher hashes as hasher does and keeps what it was given.
type fakeHasher struct {
	mu   sync.Mutex
	seen [][]byte
}

func (h *fakeHasher) Hash(_ context.Context, data []byte) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, data)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// metrics makes the worker's instruments on a reader the test collects by hand.
func metrics(t *testing.T, tally *Tally) (*Metrics, func() map[string]int64) {
	reader := sdkmetric.NewManualReader()
	x, err := NewMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"), tally, func() int64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	return x, func() map[string]int64 {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Sum[int64]:
					for _, p := range d.DataPoints {
						got[m.Name] += p.Value
					}
				case metricdata.Histogram[float64]:
					for _, p := range d.DataPoints {
						got[m.Name] += int64(p.Count)
					}
				}
			}
		}
		return got
	}
}

// A loop takes LoopBytes from rng, hashes exactly those, and counts; the metrics and
// the tally count the same loops.
func TestMinerCountsEveryLoopOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mctx, stop := context.WithCancel(ctx)
	rng := &fakeRNG{fill: 7, stopAfter: 25, stop: stop}
	hasher := &fakeHasher{}
	tally := &Tally{}
	x, collect := metrics(t, tally)
	m := &Miner{Pause: time.Millisecond, RNG: rng, Hasher: hasher, Tally: tally, Log: slog.New(slog.DiscardHandler), Metrics: x}
	m.Run(mctx)
	if ctx.Err() != nil {
		t.Fatal("the miner did not stop when its context ended")
	}

	loops, coins := tally.Totals()
	// The loop whose rng call stopped the miner is abandoned, not counted.
	if loops < 24 || loops > 25 {
		t.Fatalf("%d loops counted for 25 random answers", loops)
	}
	for i, n := range rng.asked {
		if n != dockercoins.LoopBytes {
			t.Fatalf("call %d asked rng for %d bytes, want %d", i, n, dockercoins.LoopBytes)
		}
	}
	want := bytes.Repeat([]byte{7}, dockercoins.LoopBytes)
	for i, data := range hasher.seen {
		if !bytes.Equal(data, want) {
			t.Fatalf("hash %d of %x, want rng's bytes", i, data)
		}
	}
	sum := sha256.Sum256(want)
	if wantCoins := int64(0); dockercoins.IsCoin(hex.EncodeToString(sum[:])) {
		wantCoins = loops
		if coins != wantCoins {
			t.Fatalf("%d coins, want %d", coins, wantCoins)
		}
	} else if coins != 0 {
		t.Fatalf("%d coins from hashes that are no coin", coins)
	}
	if b := tally.Take(); b.Hashes != loops {
		t.Fatalf("batch holds %d hashes, tally says %d loops", b.Hashes, loops)
	}

	got := collect()
	if got["worker.loops"] != loops || got["worker.coins"] != coins || got["worker.loop.duration"] != loops || got["worker.loop.failures"] != 0 {
		t.Fatalf("metrics %v, want %d loops, %d coins, %d durations, 0 failures", got, loops, coins, loops)
	}
}

// A loop whose rng call fails is not counted, and counts as a failure.
func TestFailedLoopsAreCountedAsFailuresOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rng := &fakeRNG{err: errors.New("rng down")}
	hasher := &fakeHasher{}
	tally := &Tally{}
	x, collect := metrics(t, tally)
	m := &Miner{RNG: rng, Hasher: hasher, Tally: tally, Log: slog.New(slog.DiscardHandler), Metrics: x}
	for range 3 {
		if _, err := m.loop(ctx); err == nil {
			t.Fatal("a loop without random bytes succeeded")
		}
	}
	if loops, _ := tally.Totals(); loops != 0 || len(hasher.seen) != 0 {
		t.Fatalf("%d loops counted, %d hashes asked for with rng down", loops, len(hasher.seen))
	}
	if got := collect(); got["worker.loop.failures"] != 3 || got["worker.loops"] != 0 || got["worker.loop.duration"] != 0 {
		t.Fatalf("metrics %v, want 3 failures and no loop", got)
	}
}

// When every rng instance is busy and asks for a wait (503, Retry-After), the miner
// waits that long before its next loop, not its own shorter backoff.
func TestMinerWaitsAsABusyServiceAsks(t *testing.T) {
	busy := &peer.StatusError{Service: "rng", Code: 503, Body: "busy", RetryAfter: 2 * time.Second}
	rng := &fakeRNG{err: fmt.Errorf("get random bytes: %w", errors.Join(busy, busy))}
	tally := &Tally{}
	m := &Miner{RNG: rng, Hasher: &fakeHasher{}, Tally: tally, Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	m.Run(ctx)
	rng.mu.Lock()
	defer rng.mu.Unlock()
	// Its own backoff alone (0.1, 0.2, 0.4, 0.8 s) would have asked 4 times by now.
	t.Logf("asked rng %d times in 1.5 s with Retry-After: 2", len(rng.asked))
	if len(rng.asked) != 1 {
		t.Fatalf("asked rng %d times in 1.5 s, want once (then a 2 s wait)", len(rng.asked))
	}
}
