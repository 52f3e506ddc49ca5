package webui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/telemetry/bottleneck"
	"github.com/dockercoins/dockercoins/telemetry/jaeger"
)

// TraceSource is what the traces panel reads: Jaeger's query API (*jaeger.Client).
type TraceSource interface {
	Traces(ctx context.Context, q jaeger.Query) ([]jaeger.Trace, error)
	Trace(ctx context.Context, id string) (jaeger.Trace, error)
}

// LoopSummary is one loop in the list the trainer picks from.
type LoopSummary struct {
	ID       string  `json:"id"`
	Start    int64   `json:"start_ms"` // unix milliseconds
	Duration float64 `json:"duration_ms"`
	Worker   string  `json:"worker"` // the worker's service.instance.id
	Failed   bool    `json:"failed"`
	// Partial: a completed loop whose rng or hasher spans have not reached Jaeger yet
	// (each service sends its own, on its own schedule).
	Partial bool `json:"partial"`
	Fast    bool `json:"fast"` // the fastest loop read, shown for contrast
}

// WaterfallSpan is one bar of the waterfall, its times relative to the trace's start.
type WaterfallSpan struct {
	ID       string            `json:"id"`
	Parent   string            `json:"parent"`
	Depth    int               `json:"depth"`
	Service  string            `json:"service"`
	Name     string            `json:"name"`
	Start    float64           `json:"start_ms"`
	Duration float64           `json:"duration_ms"`
	Failed   bool              `json:"failed"`
	Attrs    map[string]string `json:"attrs"`
}

// Waterfall is one trace laid out on one time axis.
type Waterfall struct {
	ID       string          `json:"id"`
	Start    int64           `json:"start_ms"` // unix milliseconds
	Duration float64         `json:"duration_ms"`
	Spans    []WaterfallSpan `json:"spans"` // parents before their children, siblings by start
	// Longest is the longest span below the root: where the loop spent its time.
	Longest *WaterfallSpan `json:"longest,omitempty"`
	UIURL   string         `json:"ui_url,omitempty"` // the same trace in a Jaeger UI
}

// LoopTrace is a loop's waterfall and the flush that carried its count to Redis.
type LoopTrace struct {
	Loop      Waterfall  `json:"loop"`
	Flush     *Waterfall `json:"flush,omitempty"`
	FlushNote string     `json:"flush_note,omitempty"` // why there is no flush trace
}

// traces serves the traces panel from a TraceSource; uiURL is a Jaeger UI to link to,
// or "".
type traces struct {
	log    *slog.Logger
	source TraceSource
	uiURL  string
}

// listLoops are the slowest loops of the last two minutes and the fastest one, for
// contrast. The last seconds are left out: rng's and hasher's spans arrive on their own
// schedule.
func (t *traces) listLoops(ctx context.Context, now time.Time) ([]LoopSummary, error) {
	end := now.Add(-3 * time.Second)
	got, err := t.source.Traces(ctx, jaeger.Query{Service: dockercoins.Worker, Operation: dockercoins.SpanLoop,
		Start: end.Add(-2 * time.Minute), End: end, Limit: 300})
	if err != nil {
		return nil, err
	}
	var loops []LoopSummary
	for _, tr := range got {
		root, ok := rootSpan(tr)
		if !ok || root.OperationName != dockercoins.SpanLoop {
			continue
		}
		has := map[string]bool{}
		for _, s := range tr.Spans {
			has[tr.Service(s)] = true
		}
		failed := root.Failed()
		loops = append(loops, LoopSummary{ID: tr.TraceID, Start: root.StartTime / 1000, Duration: float64(root.Duration) / 1000,
			Worker: processTag(tr, root, "service.instance.id"), Failed: failed,
			Partial: !failed && !(has[dockercoins.RNG] && has[dockercoins.Hasher])})
	}
	// Whole completed loops first, slowest first: a loop that failed (a peer refused it,
	// say) is slow for reasons that are not the story the waterfall tells, and one whose
	// spans are still arriving would draw an incomplete waterfall.
	rank := func(l LoopSummary) int {
		switch {
		case l.Failed:
			return 2
		case l.Partial:
			return 1
		}
		return 0
	}
	slices.SortFunc(loops, func(a, b LoopSummary) int {
		if r := cmp.Compare(rank(a), rank(b)); r != 0 {
			return r
		}
		return cmp.Compare(b.Duration, a.Duration)
	})
	const slowest = 8
	if len(loops) <= slowest {
		return loops, nil
	}
	// The fastest whole completed loop (the others sort last).
	i := len(loops) - 1
	for i > 0 && rank(loops[i]) > 0 {
		i--
	}
	fast := loops[i]
	fast.Fast = true
	return append(loops[:slowest:slowest], fast), nil
}

// loop reads a loop's trace and the flush trace its loop span names (worker.batch_seq).
func (t *traces) loop(ctx context.Context, id string) (LoopTrace, error) {
	tr, err := t.source.Trace(ctx, id)
	if err != nil {
		return LoopTrace{}, err
	}
	out := LoopTrace{Loop: t.waterfall(tr)}
	seq, worker := "", ""
	for _, s := range tr.Spans {
		if v, ok := s.Tag("worker.batch_seq"); ok && tr.Service(s) == dockercoins.Worker {
			seq, worker = fmt.Sprint(v), processTag(tr, s, "service.instance.id")
		}
	}
	if seq == "" {
		out.FlushNote = "the loop names no batch (it failed, or was not counted)"
		return out, nil
	}
	start := time.UnixMicro(tr.Spans[0].StartTime).Add(-time.Minute)
	flushes, err := t.source.Traces(ctx, jaeger.Query{Service: dockercoins.Worker, Operation: dockercoins.SpanFlush,
		Start: start, End: start.Add(10 * time.Minute), Limit: 5,
		Tags: map[string]string{"worker.batch_seq": seq, "service.instance.id": worker}})
	switch {
	case err != nil:
		out.FlushNote = "reading the flush trace: " + err.Error()
	case len(flushes) == 0:
		out.FlushNote = "batch " + seq + " has no flush trace yet (Redis may be down, or the worker has not flushed)"
	default:
		f := t.waterfall(flushes[0])
		out.Flush = &f
	}
	return out, nil
}

// waterfall lays a trace out: each span under its parent, siblings by start time; an
// rng request's wait for its entropy slot and its hold of it as two bars below it.
func (t *traces) waterfall(tr jaeger.Trace) Waterfall {
	tr = bottleneck.Phases(tr)
	if len(tr.Spans) == 0 {
		return Waterfall{ID: tr.TraceID}
	}
	ids := map[string]bool{}
	children := map[string][]jaeger.Span{}
	t0, t1 := tr.Spans[0].StartTime, tr.Spans[0].StartTime+tr.Spans[0].Duration
	for _, s := range tr.Spans {
		ids[s.SpanID] = true
		t0, t1 = min(t0, s.StartTime), max(t1, s.StartTime+s.Duration)
	}
	for _, s := range tr.Spans {
		p := s.Parent()
		if !ids[p] {
			p = "" // a parent not (yet) in the trace: show the span at the top
		}
		children[p] = append(children[p], s)
	}
	w := Waterfall{ID: tr.TraceID, Start: t0 / 1000, Duration: float64(t1-t0) / 1000}
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		kids := children[parent]
		slices.SortFunc(kids, func(a, b jaeger.Span) int { return cmp.Compare(a.StartTime, b.StartTime) })
		for _, s := range kids {
			w.Spans = append(w.Spans, WaterfallSpan{ID: s.SpanID, Parent: s.Parent(), Depth: depth, Service: tr.Service(s),
				Name: s.OperationName, Start: float64(s.StartTime-t0) / 1000, Duration: float64(s.Duration) / 1000,
				Failed: s.Failed(), Attrs: attrs(tr, s)})
			walk(s.SpanID, depth+1)
		}
	}
	walk("", 0)
	// The longest leaf is where time went, not the call that contains it.
	for i := range w.Spans {
		if s := &w.Spans[i]; s.Depth > 0 && (w.Longest == nil || s.Duration > w.Longest.Duration) && len(children[s.ID]) == 0 {
			w.Longest = s
		}
	}
	if t.uiURL != "" {
		w.UIURL = strings.TrimRight(t.uiURL, "/") + "/trace/" + tr.TraceID
	}
	return w
}

// rootSpan is the span without a parent in the trace.
func rootSpan(tr jaeger.Trace) (jaeger.Span, bool) {
	for _, s := range tr.Spans {
		if s.Parent() == "" {
			return s, true
		}
	}
	return jaeger.Span{}, false
}

// attrs are a span's tags and its process's, as text for the page.
func attrs(tr jaeger.Trace, s jaeger.Span) map[string]string {
	out := map[string]string{}
	for _, kv := range tr.Processes[s.ProcessID].Tags {
		out[kv.Key] = fmt.Sprint(kv.Value)
	}
	for _, kv := range s.Tags {
		out[kv.Key] = fmt.Sprint(kv.Value)
	}
	return out
}

func processTag(tr jaeger.Trace, s jaeger.Span, key string) string {
	for _, kv := range tr.Processes[s.ProcessID].Tags {
		if kv.Key == key {
			return fmt.Sprint(kv.Value)
		}
	}
	return ""
}

// handleLoops answers the list of loops; 404 without Jaeger, so the panel says so.
func (t *traces) handleLoops(w http.ResponseWriter, r *http.Request) {
	if t.source == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no Jaeger configured (JAEGER_QUERY_URL)"})
		return
	}
	loops, err := t.listLoops(r.Context(), time.Now())
	if err != nil {
		t.log.WarnContext(r.Context(), "reading loops", "err", err)
		writeJaegerError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"loops": loops})
}

// handleLoop answers one loop's waterfall and its flush.
func (t *traces) handleLoop(w http.ResponseWriter, r *http.Request) {
	if t.source == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no Jaeger configured (JAEGER_QUERY_URL)"})
		return
	}
	id := r.PathValue("id")
	if len(id) == 0 || len(id) > 32 || strings.Trim(id, "0123456789abcdef") != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a trace ID is 1 to 32 lowercase hex digits"})
		return
	}
	out, err := t.loop(r.Context(), id)
	if err != nil {
		t.log.WarnContext(r.Context(), "reading a loop", "trace", id, "err", err)
		writeJaegerError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// writeJaegerError answers that Jaeger could not be read: 503 while it refuses
// connections, as it does until make up has built and started it, else 502.
func writeJaegerError(w http.ResponseWriter, err error) {
	if errors.Is(err, syscall.ECONNREFUSED) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "tracing is coming: Jaeger does not answer yet (it is still being built or started, or it is down)"})
		return
	}
	writeJSON(w, http.StatusBadGateway, map[string]string{"error": "Jaeger: " + shortError(err)})
}
