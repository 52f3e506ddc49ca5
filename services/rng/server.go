package rng

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/dockercoins/dockercoins"
)

// MaxCount is the most bytes one request may ask for.
const MaxCount = 1 << 20

// DefaultQueueMax is how many requests may wait for a slot unless RNG_QUEUE_MAX says
// otherwise: at the default delay the last of them waits about 10 s, well inside the
// callers' timeout and the server's write timeout.
const DefaultQueueMax = 100

// Config shapes how slow rng is.
type Config struct {
	Delay    time.Duration // how long each request holds an entropy slot
	Slots    int           // how many requests hold a slot at once
	QueueMax int           // how many may wait for one; more get 503 at once (0: DefaultQueueMax)
	Hostname string        // named by GET /
}

// LongestWait is the longest a request can take with the queue full: its turn behind
// every request ahead of it, and its own hold.
func (c Config) LongestWait() time.Duration {
	slots, queue := max(c.Slots, 1), c.queueMax()
	return time.Duration((queue+slots-1)/slots+1) * c.Delay
}

func (c Config) queueMax() int {
	if c.QueueMax > 0 {
		return c.QueueMax
	}
	return DefaultQueueMax
}

// NewServer returns rng's HTTP handler.
func NewServer(cfg Config) http.Handler {
	slots := newEntropy(cfg.Slots, cfg.queueMax(), cfg.Delay)
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", handleHello(slots, cfg.Hostname))
	mux.Handle("GET /{n}", handleRandom(slots))
	return mux
}

// handleHello answers the greeting when it is this request's turn, without holding the
// slot for the delay: the original rng serves one request at a time, so its GET / waits
// behind the workers' random bytes, which is what httping shows the workshop. Health
// checks use dockercoins.HealthPath, which never waits.
func handleHello(slots *entropy, hostname string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := slots.turn(r.Context()); err != nil {
			unavailable(w, err)
			return
		}
		fmt.Fprintf(w, "RNG running on %s\n", hostname)
	})
}

func handleRandom(slots *entropy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := parseCount(r.PathValue("n"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		buf, err := generate(r.Context(), slots, n)
		if err != nil {
			unavailable(w, err)
			return
		}
		w.Header().Set("Content-Type", dockercoins.RandomContentType)
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(buf)
	})
}

// unavailable answers a request that got no slot: 503 with Retry-After when the queue
// was full, so the caller tries another instance or comes back later; otherwise the
// caller went away while waiting and nobody reads the answer.
func unavailable(w http.ResponseWriter, err error) {
	var busy *busyError
	if errors.As(err, &busy) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((busy.retryAfter+time.Second-1)/time.Second))))
	}
	http.Error(w, err.Error(), http.StatusServiceUnavailable)
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
