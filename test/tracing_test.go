package test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/telemetry/bottleneck"
	"github.com/dockercoins/dockercoins/telemetry/jaeger"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// tracedApp starts Redis, rng and hasher with otel added to their environment, and
// delays of 20 ms: the defaults' ratios, five times faster.
func tracedApp(t *testing.T, otel []string, rngEnv ...string) *app {
	a := &app{redis: testbed.StartRedis(t)}
	a.rng = testbed.StartService(t, "rng", slices.Concat([]string{"RNG_DELAY=20ms"}, otel, rngEnv)...)
	a.hasher = testbed.StartService(t, "hasher", slices.Concat([]string{"HASHER_DELAY=20ms"}, otel)...)
	return a
}

// path is the chain of "service:span" from span up to the trace's root.
func path(tr jaeger.Trace, s jaeger.Span) []string {
	byID := map[string]jaeger.Span{}
	for _, x := range tr.Spans {
		byID[x.SpanID] = x
	}
	var out []string
	for seen := 0; seen <= len(tr.Spans); seen++ {
		out = append(out, tr.Service(s)+":"+s.OperationName)
		parent, ok := byID[s.Parent()]
		if !ok {
			break
		}
		s = parent
	}
	return out
}

func findSpan(tr jaeger.Trace, service, name string) (jaeger.Span, bool) {
	for _, s := range tr.Spans {
		if s.OperationName == name && tr.Service(s) == service {
			return s, true
		}
	}
	return jaeger.Span{}, false
}

func TestLoopTraceJoinsWorkerRngAndHasher(t *testing.T) {
	j := testbed.StartJaeger(t)
	a := tracedApp(t, j.Env())
	w := a.worker(t, append(j.Env(), "WORKER_PAUSE=20ms")...)
	jc := &jaeger.Client{URL: j.Query}
	ctx := context.Background()

	var tr jaeger.Trace
	testbed.Eventually(t, 30*time.Second, "a loop trace with spans of worker, rng and hasher", func() bool {
		traces, err := jc.Traces(ctx, jaeger.Query{Service: "worker", Operation: "loop", Start: time.Now().Add(-time.Minute), Limit: 20})
		if err != nil {
			t.Logf("jaeger: %v", err)
			return false
		}
		for _, x := range traces {
			_, get := findSpan(x, "rng", "GET /{n}")
			_, hash := findSpan(x, "hasher", "POST /{$}")
			if get && hash {
				tr = x
				return true
			}
		}
		return false
	})

	// As Jaeger holds it, a loop is 3 spans: the loop, with an event per step, and the
	// two calls' server spans under it. Read through bottleneck.Phases, as the report
	// and the waterfall read it, the steps are spans holding the calls.
	stored := map[[2]string][]string{
		{"worker", "loop"}:      {"worker:loop"},
		{"rng", "GET /{n}"}:     {"rng:GET /{n}", "worker:loop"},
		{"hasher", "POST /{$}"}: {"hasher:POST /{$}", "worker:loop"},
	}
	read := map[[2]string][]string{
		{"worker", "loop"}:      {"worker:loop"},
		{"worker", "pause"}:     {"worker:pause", "worker:loop"},
		{"worker", "rng"}:       {"worker:rng", "worker:loop"},
		{"worker", "hasher"}:    {"worker:hasher", "worker:loop"},
		{"rng", "GET /{n}"}:     {"rng:GET /{n}", "worker:rng", "worker:loop"},
		{"hasher", "POST /{$}"}: {"hasher:POST /{$}", "worker:hasher", "worker:loop"},
	}
	if len(tr.Spans) != len(stored) {
		t.Errorf("a loop is %d spans, want %d (the loop and the two calls)", len(tr.Spans), len(stored))
	}
	checkPaths(t, tr, stored)
	checkPaths(t, bottleneck.Phases(tr), read)

	// rng marks when it took its entropy slot: the wait before it, the hold after.
	get, _ := findSpan(tr, "rng", "GET /{n}")
	held, ok := get.Event(bottleneck.SlotHeld)
	if !ok || held.Timestamp < get.StartTime || held.Timestamp > get.StartTime+get.Duration {
		t.Errorf("rng's request span has no %q event within it: %+v", bottleneck.SlotHeld, get.Logs)
	}
	if _, wait := findSpan(bottleneck.Phases(tr), "rng", "wait for entropy slot"); !wait {
		t.Error("the event does not split rng's request into its wait and hold")
	}

	// The loop span names the batch that carried it to Redis; that flush is a trace of
	// its own, with the Redis call in it.
	loop, _ := findSpan(tr, "worker", "loop")
	seq, ok := loop.Tag("worker.batch_seq")
	if !ok {
		t.Fatalf("loop span has no worker.batch_seq: %v", loop.Tags)
	}
	testbed.Eventually(t, 15*time.Second, "the flush trace of batch %v", func() bool {
		flushes, err := jc.Traces(ctx, jaeger.Query{Service: "worker", Operation: "flush", Start: time.Now().Add(-time.Minute),
			Tags: map[string]string{"worker.batch_seq": fmt.Sprint(seq)}, Limit: 5})
		if err != nil || len(flushes) != 1 {
			return false
		}
		for _, s := range flushes[0].Spans {
			if strings.HasPrefix(s.OperationName, "evalsha") || strings.HasPrefix(s.OperationName, "eval") {
				return true
			}
		}
		return false
	}, seq)

	// A failed loop is logged with its trace ID, and that trace shows the failure.
	a.rng.Kill()
	ev := w.WaitEvent(t, "loop failed; backing off", 10*time.Second)
	id, _ := ev["trace_id"].(string)
	if id == "" {
		t.Fatalf("failure logged without a trace_id: %v", ev)
	}
	testbed.Eventually(t, 15*time.Second, "the failed loop's trace %s", func() bool {
		ftr, err := jc.Trace(ctx, id)
		if err != nil {
			return false
		}
		ftr = bottleneck.Phases(ftr)
		loop, ok := findSpan(ftr, "worker", "loop")
		rng, rok := findSpan(ftr, "worker", "rng")
		return ok && rok && loop.Failed() && rng.Failed()
	}, id)
}

// mineAndReport runs workers against one rng started with rngEnv, all traced to a
// Jaeger of their own, and returns the bottleneck report over their steady loops.
func mineAndReport(t *testing.T, workers int, rngEnv ...string) (bottleneck.Report, *app, *testbed.Jaeger) {
	j := testbed.StartJaeger(t)
	a := tracedApp(t, j.Env(), rngEnv...)
	for range workers {
		a.worker(t, append(j.Env(), "WORKER_PAUSE=20ms")...)
	}
	steady := time.Now()
	jc := &jaeger.Client{URL: j.Query}
	const settle = 2 * time.Second
	var r bottleneck.Report
	testbed.Eventually(t, 40*time.Second, "150 complete loops in Jaeger", func() bool {
		lookback := time.Since(steady) - settle
		if lookback <= 0 {
			return false
		}
		var err error
		r, err = bottleneck.Fetch(context.Background(), jc, bottleneck.Options{Lookback: lookback, Limit: 150, Settle: settle}, time.Now())
		if err != nil {
			t.Logf("report: %v", err)
		}
		return err == nil && r.Loops >= 150
	})
	var b strings.Builder
	r.WriteText(&b)
	t.Logf("%d workers, rng %v:\n%s", workers, rngEnv, b.String())
	return r, a, j
}

func TestReportNamesRngWhenWorkersQueueForIt(t *testing.T) {
	r, a, j := mineAndReport(t, 8)
	if r.Bottleneck != bottleneck.RNG {
		t.Errorf("bottleneck %q, want rng: %s", r.Bottleneck, r.Verdict)
	}
	if r.RNGQueueLoops == 0 || r.RNGQueue < 0.5 {
		t.Errorf("rng queueing is %.2f of rng time over %d loops; want most of it", r.RNGQueue, r.RNGQueueLoops)
	}
	if !strings.HasPrefix(r.Verdict, "bottleneck: rng — ") || !strings.Contains(r.Verdict, "scale rng") {
		t.Errorf("verdict %q", r.Verdict)
	}

	// The web UI's panel says the same, and links to the Jaeger UI's search for slow loops
	// (the test's Jaeger stands in for one).
	webui := testbed.StartService(t, "webui", "REDIS_ADDR="+a.redis.Addr, "REDIS_PASSWORD="+a.redis.Password,
		"JAEGER_QUERY_URL="+j.Query, "JAEGER_UI_URL="+j.Query)
	code, body := getJSON(t, webui.URL()+"/bottleneck")
	report, _ := body["report"].(map[string]any)
	link, _ := body["search_url"].(string)
	if code != http.StatusOK || report["bottleneck"] != "rng" || !strings.HasPrefix(link, j.Query+"/search?") ||
		!strings.Contains(link, "operation=loop") || !strings.Contains(link, "minDuration=") {
		t.Errorf("webui /bottleneck answered %d %v", code, body)
	}
}

func TestReportMovesOnWhenRngHasSlots(t *testing.T) {
	r, _, _ := mineAndReport(t, 8, "RNG_SLOTS=8")
	if r.Bottleneck == bottleneck.RNG || r.Bottleneck == "" {
		t.Errorf("bottleneck %q with 8 slots: %s", r.Bottleneck, r.Verdict)
	}
	if r.RNGQueueLoops == 0 || r.RNGQueue > 0.2 {
		t.Errorf("rng queueing is %.2f of rng time over %d loops with a slot per worker", r.RNGQueue, r.RNGQueueLoops)
	}
}

// stillMining checks that the worker completes loops, Redis counts them and every
// service still serves /metrics.
func stillMining(t *testing.T, a *app, w *testbed.Service) {
	t.Helper()
	loops := func() float64 {
		n, found, err := testbed.Metric(w.URL()+"/metrics", "worker_loops_total")
		if err != nil || !found {
			t.Fatalf("worker /metrics: found=%v err=%v", found, err)
		}
		return n
	}
	l0, h0 := loops(), a.redis.Hashes()
	testbed.Eventually(t, 10*time.Second, "50 more loops, counted in Redis", func() bool {
		return loops() >= l0+50 && a.redis.Hashes() >= h0+50
	})
	for _, s := range []*testbed.Service{a.rng, a.hasher} {
		if n, found, err := testbed.Metric(s.URL()+"/metrics", "http_server_request_duration_seconds_count"); err != nil || !found || n == 0 {
			t.Errorf("%s /metrics: requests %v found=%v err=%v", s.Name, n, found, err)
		}
	}
}

// droppedSpans waits until the worker reports spans it could not export.
func droppedSpans(t *testing.T, w *testbed.Service) {
	t.Helper()
	testbed.Eventually(t, 20*time.Second, "the worker to count failed span exports", func() bool {
		n, _, err := testbed.Metric(w.URL()+"/metrics", "telemetry_spans_total", `state="failed"`)
		return err == nil && n > 0
	})
	w.WaitEvent(t, "telemetry error; requests are not affected", 10*time.Second)
}

func TestMiningGoesOnWithTracingEndpointClosed(t *testing.T) {
	closed := []string{fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", testbed.FreePort(t))}
	a := tracedApp(t, closed)
	w := a.worker(t, append(closed, "WORKER_PAUSE=20ms")...)
	stillMining(t, a, w)
	droppedSpans(t, w)
	stillMining(t, a, w)
	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
}

func TestMiningGoesOnWhenJaegerDies(t *testing.T) {
	j := testbed.StartJaeger(t)
	a := tracedApp(t, j.Env())
	w := a.worker(t, append(j.Env(), "WORKER_PAUSE=20ms")...)
	jc := &jaeger.Client{URL: j.Query}
	testbed.Eventually(t, 20*time.Second, "traces from the worker", func() bool {
		services, _ := jc.Services(context.Background())
		return slices.Contains(services, "worker")
	})
	j.Kill()
	stillMining(t, a, w)
	droppedSpans(t, w)
	stillMining(t, a, w)
	start := time.Now()
	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
	t.Logf("worker stopped %v after SIGTERM with Jaeger gone", time.Since(start).Round(time.Millisecond))
}

// checkPaths checks that tr holds each span of want with the path to the root given.
func checkPaths(t *testing.T, tr jaeger.Trace, want map[[2]string][]string) {
	t.Helper()
	for key, chain := range want {
		s, ok := findSpan(tr, key[0], key[1])
		if !ok {
			t.Errorf("trace %s has no %s span %q", tr.TraceID, key[0], key[1])
			continue
		}
		if s.TraceID != tr.TraceID {
			t.Errorf("%s span %q is in trace %s, not %s", key[0], key[1], s.TraceID, tr.TraceID)
		}
		if got := path(tr, s); !slices.Equal(got, chain) {
			t.Errorf("%s span %q: path to the root is %v, want %v", key[0], key[1], got, chain)
		}
	}
}
