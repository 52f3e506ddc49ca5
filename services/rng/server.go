package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/dockercoins/dockercoins/internal/pause"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/semaphore"
)

// tracer makes the spans that split a request's time into queueing and work.
var tracer = otel.Tracer("github.com/dockercoins/dockercoins/services/rng")

// MaxCount is the most bytes one request may ask for.
const MaxCount = 1 << 20

// Config shapes how slow rng is.
type Config struct {
	Delay    time.Duration // how long each request holds an entropy slot
	Slots    int           // how many requests hold a slot at once
	Hostname string        // named by GET /
}

// NewServer returns rng's HTTP handler.
func NewServer(cfg Config) http.Handler {
	slots := &entropy{slots: semaphore.NewWeighted(int64(max(cfg.Slots, 1))), size: max(cfg.Slots, 1)}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", handleHello(cfg.Hostname))
	mux.Handle("GET /{n}", handleRandom(slots, cfg.Delay))
	return mux
}

// handleHello answers at once: health checks and probes must never queue for a slot.
func handleHello(hostname string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "RNG running on %s\n", hostname)
	})
}

func handleRandom(slots *entropy, delay time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := parseCount(r.PathValue("n"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		buf, err := generate(r.Context(), slots, delay, n)
		if err != nil {
			// The caller went away while waiting; nobody reads this answer.
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(buf)
	})
}

// entropy is rng's slots, and how many requests wait for one.
type entropy struct {
	slots   *semaphore.Weighted
	size    int
	waiting atomic.Int64
}

// generate waits in line for an entropy slot, then holds it for delay: the queueing,
// not the work, is what makes rng the bottleneck. Each phase is a span of its own, so
// a trace shows which of the two a slow request spent its time in.
func generate(ctx context.Context, e *entropy, delay time.Duration, n int) ([]byte, error) {
	ahead := e.waiting.Add(1) - 1
	wctx, wait := tracer.Start(ctx, "wait for entropy slot", trace.WithAttributes(
		attribute.Int64("rng.waiting_ahead", ahead), attribute.Int("rng.slots", e.size)))
	err := e.slots.Acquire(wctx, 1)
	e.waiting.Add(-1)
	if err != nil {
		wait.SetStatus(codes.Error, "caller left while waiting")
		wait.End()
		return nil, err
	}
	wait.End()
	defer e.slots.Release(1)
	_, hold := tracer.Start(ctx, "hold entropy slot", trace.WithAttributes(attribute.Int("rng.bytes", n)))
	defer hold.End()
	if err := pause.For(ctx, delay); err != nil {
		hold.SetStatus(codes.Error, "caller left while holding the slot")
		return nil, err
	}
	buf := make([]byte, n)
	rand.Read(buf)
	return buf, nil
}

// parseCount reads the byte count from the path: a whole number from 1 to MaxCount.
func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("byte count must be a whole number, got %q", s)
	case n < 1:
		return 0, fmt.Errorf("byte count must be at least 1, got %d", n)
	case n > MaxCount:
		return 0, fmt.Errorf("byte count must be at most %d (1 MiB), got %d", MaxCount, n)
	}
	return n, nil
}
