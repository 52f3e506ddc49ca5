package rng

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/dockercoins/dockercoins"
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
	slots := newEntropy(cfg.Slots)
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", handleHello(slots, cfg.Hostname))
	mux.Handle("GET /{n}", handleRandom(slots, cfg.Delay))
	return mux
}

// handleHello answers the greeting when it is this request's turn, without holding the
// slot for the delay: the original rng serves one request at a time, so its GET / waits
// behind the workers' random bytes, which is what httping shows the workshop. Health
// checks use dockercoins.HealthPath, which never waits.
func handleHello(slots *entropy, hostname string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := slots.turn(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable) // nobody reads it
			return
		}
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
		w.Header().Set("Content-Type", dockercoins.RandomContentType)
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(buf)
	})
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
