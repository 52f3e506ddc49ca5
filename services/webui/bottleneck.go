package webui

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dockercoins/dockercoins/telemetry/bottleneck"
	"github.com/dockercoins/dockercoins/telemetry/jaeger"
)

// Breakdown is the page's view of the worker loop, read from traces.
type Breakdown struct {
	Report    bottleneck.Report `json:"report"`
	SearchURL string            `json:"search_url,omitempty"` // a Jaeger UI's search for slow loops
}

// Breakdowns reads the current breakdown.
type Breakdowns interface {
	Breakdown(ctx context.Context) (Breakdown, error)
}

// jaegerBreakdowns reads the breakdown from Jaeger, at most once per interval
// whatever the number of open pages.
type jaegerBreakdowns struct {
	client  *jaeger.Client
	options bottleneck.Options
	every   time.Duration
	uiURL   string // a Jaeger UI to link the slow loops' search to, or ""

	mu      sync.Mutex
	last    Breakdown
	lastErr error
	at      time.Time
}

func newJaegerBreakdowns(url, uiURL string) *jaegerBreakdowns {
	return &jaegerBreakdowns{
		uiURL:   uiURL,
		client:  &jaeger.Client{URL: url, HTTP: &http.Client{Timeout: 5 * time.Second}},
		options: bottleneck.Options{Lookback: time.Minute, Limit: 200, Settle: 3 * time.Second},
		every:   3 * time.Second,
	}
}

func (j *jaegerBreakdowns) Breakdown(ctx context.Context) (Breakdown, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.at.IsZero() && time.Since(j.at) < j.every {
		return j.last, j.lastErr // a Jaeger that is down is not asked again at once either
	}
	j.at = time.Now()
	r, err := bottleneck.Fetch(ctx, j.client, j.options, time.Now())
	if err != nil {
		j.last, j.lastErr = Breakdown{}, err
		return j.last, err
	}
	j.last = Breakdown{Report: r}
	if j.uiURL != "" {
		search := jaeger.Query{Service: bottleneck.Service, Operation: bottleneck.Loop, MinDuration: r.Loop.P95, Limit: 20}
		j.last.SearchURL = jaeger.SearchURL(j.uiURL, search, 15*time.Minute)
	}
	j.lastErr = nil
	return j.last, nil
}

// handleBottleneck answers the loop breakdown, or 404 when no Jaeger is configured so
// the page hides its panel.
func handleBottleneck(log *slog.Logger, b Breakdowns) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no Jaeger configured (JAEGER_QUERY_URL)"})
			return
		}
		out, err := b.Breakdown(r.Context())
		if err != nil {
			log.WarnContext(r.Context(), "reading traces", "err", err)
			writeJaegerError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}
