package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/dockercoins/dockercoins/internal/pause"
	"golang.org/x/sync/semaphore"
)

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
	slots := semaphore.NewWeighted(int64(max(cfg.Slots, 1)))
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

func handleRandom(slots *semaphore.Weighted, delay time.Duration) http.Handler {
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

// generate waits in line for an entropy slot, then holds it for delay: the queueing,
// not the work, is what makes rng the bottleneck.
func generate(ctx context.Context, slots *semaphore.Weighted, delay time.Duration, n int) ([]byte, error) {
	if err := slots.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	defer slots.Release(1)
	if err := pause.For(ctx, delay); err != nil {
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
