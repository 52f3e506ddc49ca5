package bottleneck

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/telemetry/jaeger"
)

// The testdata files are /api/traces answers of a real Jaeger, for 8 workers with
// every delay at 20 ms: rng-bound.json against one rng slot, rng-slots.json against 8.
func load(t *testing.T, name string) []jaeger.Trace {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ Data []jaeger.Trace }
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.Data
}

// edit changes, in every trace, the spans of service named name.
func edit(traces []jaeger.Trace, service, name string, f func(*jaeger.Span)) {
	for _, tr := range traces {
		for i := range tr.Spans {
			if tr.Spans[i].OperationName == name && tr.Service(tr.Spans[i]) == service {
				f(&tr.Spans[i])
			}
		}
	}
}

// drop removes the spans of service named name from every trace.
func drop(traces []jaeger.Trace, service, name string) {
	for i, tr := range traces {
		kept := tr.Spans[:0]
		for _, s := range tr.Spans {
			if !(s.OperationName == name && tr.Service(s) == service) {
				kept = append(kept, s)
			}
		}
		traces[i].Spans = kept
	}
}

func checkShares(t *testing.T, r Report) {
	t.Helper()
	var sum float64
	for _, s := range r.Steps {
		sum += s.Share
		if s.P50 > s.P95 {
			t.Errorf("%s: p50 %v > p95 %v", s.Name, s.P50, s.P95)
		}
		if s.Name != "other" && s.Count != r.Loops {
			t.Errorf("%s counted %d times over %d loops", s.Name, s.Count, r.Loops)
		}
	}
	if math.Abs(sum-1) > 0.01 {
		t.Errorf("step shares add up to %.3f, want 1", sum)
	}
}

func TestOneRngSlotForEightWorkersNamesRng(t *testing.T) {
	r := Analyze(load(t, "rng-bound.json"))
	if r.Loops != 12 || r.Skipped != 0 || r.RNGQueueLoops != 12 {
		t.Fatalf("loops %d, skipped %d, with rng spans %d; want 12, 0, 12", r.Loops, r.Skipped, r.RNGQueueLoops)
	}
	checkShares(t, r)
	if r.Bottleneck != RNG || r.RNGQueue < 0.7 || r.Step(RNG).Share < 0.6 {
		t.Fatalf("bottleneck %q, rng share %.2f, queueing %.2f: %s", r.Bottleneck, r.Step(RNG).Share, r.RNGQueue, r.Verdict)
	}
	want := "bottleneck: rng — 75% of loop time, 82% of it waiting for the entropy slot; scale rng"
	if r.Verdict != want {
		t.Errorf("verdict\n %q, want\n %q", r.Verdict, want)
	}
	if p := r.Step(Pause).P50; p < 20*time.Millisecond || p > 25*time.Millisecond {
		t.Errorf("pause p50 %v, want about the 20ms configured", p)
	}
}

// asEvents turns rng's wait and hold spans into what rng records now: the moment the
// slot was held, an event on the request's span, with the wait's tags as its fields.
func asEvents(traces []jaeger.Trace) {
	for i, tr := range traces {
		at := map[string]jaeger.Log{}
		for _, s := range tr.Spans {
			if s.OperationName == Wait && tr.Service(s) == RNG {
				fields := append([]jaeger.KeyValue{{Key: "event", Type: "string", Value: SlotHeld}}, s.Tags...)
				at[s.Parent()] = jaeger.Log{Timestamp: s.StartTime + s.Duration, Fields: fields}
			}
		}
		for j, s := range tr.Spans {
			if l, ok := at[s.SpanID]; ok {
				traces[i].Spans[j].Logs = append(s.Logs, l)
			}
		}
	}
	drop(traces, RNG, Wait)
	drop(traces, RNG, Hold)
}

// stepsAsEvents turns each trace's worker step spans into events on the loop span, as
// the worker records steps; its other spans (the HTTP client spans of older builds) go
// too, and the calls' server spans become the loop's children.
func stepsAsEvents(traces []jaeger.Trace) {
	for i, tr := range traces {
		worker := map[string]jaeger.Span{} // the worker's spans but the loop, by ID
		at := map[string][]jaeger.Log{}
		for _, s := range tr.Spans {
			if tr.Service(s) != Service || s.OperationName == Loop {
				continue
			}
			worker[s.SpanID] = s
			if slices.Contains(Steps, s.OperationName) {
				fields := []jaeger.KeyValue{{Key: "event", Type: "string", Value: s.OperationName},
					{Key: StepDuration, Type: "int64", Value: float64(s.Duration)}}
				if s.Failed() {
					fields = append(fields, jaeger.KeyValue{Key: "error.message", Type: "string", Value: "failed"})
				}
				at[s.Parent()] = append(at[s.Parent()], jaeger.Log{Timestamp: s.StartTime, Fields: fields})
			}
		}
		kept := tr.Spans[:0]
		for _, s := range tr.Spans {
			if _, gone := worker[s.SpanID]; gone {
				continue
			}
			s.Logs = append(s.Logs, at[s.SpanID]...)
			p := s.Parent()
			for w, ok := worker[p]; ok; w, ok = worker[p] {
				p = w.Parent()
			}
			if p != s.Parent() {
				s.References = childOf(s.TraceID, p)
			}
			kept = append(kept, s)
		}
		traces[i].Spans = kept
	}
}

// The worker's step events give the same report as the step spans they replaced, and
// read back as spans holding the calls' server spans.
func TestStepEventsReadLikeTheStepSpansDid(t *testing.T) {
	for _, file := range []string{"rng-bound.json", "rng-slots.json"} {
		spans := Analyze(load(t, file))
		traces := load(t, file)
		stepsAsEvents(traces)
		for _, s := range traces[0].Spans {
			if traces[0].Service(s) == Service && s.OperationName != Loop {
				t.Fatalf("%s: a worker span %q is left", file, s.OperationName)
			}
		}
		events := Analyze(traces)
		if events.Loops != spans.Loops || events.Skipped != spans.Skipped || events.Verdict != spans.Verdict {
			t.Fatalf("%s: from events %d loops (%d skipped), %q; from spans %d (%d), %q", file,
				events.Loops, events.Skipped, events.Verdict, spans.Loops, spans.Skipped, spans.Verdict)
		}
		for _, name := range append(slices.Clone(Steps), "other") {
			e, s := events.Step(name), spans.Step(name)
			if e.Count != s.Count || e.P50 != s.P50 || math.Abs(e.Share-s.Share) > 1e-9 {
				t.Errorf("%s: step %s from events %+v, from spans %+v", file, name, e, s)
			}
		}
		tr := Phases(traces[0])
		ids := map[string]jaeger.Span{}
		for _, s := range tr.Spans {
			ids[s.SpanID] = s
		}
		for _, s := range tr.Spans {
			if svc := tr.Service(s); svc == RNG || svc == Hasher {
				if p := ids[s.Parent()]; s.OperationName != Wait && s.OperationName != Hold &&
					(p.OperationName != svc || tr.Service(p) != Service) {
					t.Errorf("%s: %s span %q is under %q, not the worker's %s step", file, svc, s.OperationName, p.OperationName, svc)
				}
			}
		}
	}
}

// A failed step reads back as a failed span.
func TestAFailedStepEventReadsAsAFailedSpan(t *testing.T) {
	traces := load(t, "rng-slots.json")
	edit(traces, Service, Hasher, func(s *jaeger.Span) {
		s.Tags = append(s.Tags, jaeger.KeyValue{Key: "error", Type: "bool", Value: true})
	})
	stepsAsEvents(traces)
	for _, s := range Phases(traces[0]).Spans {
		if s.OperationName == Hasher && traces[0].Service(s) == Service && !s.Failed() {
			t.Errorf("the hasher step is not failed: %+v", s.Tags)
		}
	}
}

// rng's slot event gives the same breakdown as the wait and hold spans it replaced.
func TestTheSlotEventSplitsRngLikeItsSpansDid(t *testing.T) {
	spans := Analyze(load(t, "rng-bound.json"))
	traces := load(t, "rng-bound.json")
	asEvents(traces)
	for _, s := range traces[0].Spans {
		if s.OperationName == Wait || s.OperationName == Hold {
			t.Fatalf("a %s span is left", s.OperationName)
		}
	}
	events := Analyze(traces)
	if events.RNGQueueLoops != 12 || math.Abs(events.RNGQueue-spans.RNGQueue) > 0.01 || events.Verdict != spans.Verdict {
		t.Fatalf("from events: %d loops with rng, queueing %.3f, %q; from spans: %.3f, %q",
			events.RNGQueueLoops, events.RNGQueue, events.Verdict, spans.RNGQueue, spans.Verdict)
	}
	// The phases are children of rng's request span, the wait carrying the event's fields.
	tr := Phases(traces[0])
	var wait, hold *jaeger.Span
	for i, s := range tr.Spans {
		switch s.OperationName {
		case Wait:
			wait = &tr.Spans[i]
		case Hold:
			hold = &tr.Spans[i]
		}
	}
	if wait == nil || hold == nil || wait.Parent() != hold.Parent() || wait.StartTime+wait.Duration != hold.StartTime {
		t.Fatalf("phases: wait %+v, hold %+v", wait, hold)
	}
	if _, ok := wait.Tag("rng.waiting_ahead"); !ok {
		t.Errorf("the wait lacks the event's fields: %+v", wait.Tags)
	}
	if len(Phases(load(t, "rng-bound.json")[0]).Spans) != len(load(t, "rng-bound.json")[0].Spans) {
		t.Error("a trace without the event changed")
	}
}

func TestEnoughRngSlotsNamesTheWorkers(t *testing.T) {
	r := Analyze(load(t, "rng-slots.json"))
	checkShares(t, r)
	if r.Bottleneck != Workers || r.RNGQueue > 0.05 {
		t.Fatalf("bottleneck %q, rng queueing %.2f: %s", r.Bottleneck, r.RNGQueue, r.Verdict)
	}
	if !strings.HasPrefix(r.Verdict, "bottleneck: the workers — ") || !strings.HasSuffix(r.Verdict, "add workers") {
		t.Errorf("verdict %q", r.Verdict)
	}
}

func TestTheDeliberatePauseIsNeverNamed(t *testing.T) {
	traces := load(t, "rng-slots.json")
	const longer = 2 * time.Second
	edit(traces, Service, Pause, func(s *jaeger.Span) { s.Duration += longer.Microseconds() })
	edit(traces, Service, Loop, func(s *jaeger.Span) { s.Duration += longer.Microseconds() })
	r := Analyze(traces)
	if r.Step(Pause).Share < 0.9 || r.Bottleneck != Workers {
		t.Fatalf("pause share %.2f, bottleneck %q: %s", r.Step(Pause).Share, r.Bottleneck, r.Verdict)
	}
}

func TestASlowHasherIsNamed(t *testing.T) {
	traces := load(t, "rng-slots.json")
	const longer = 300 * time.Millisecond
	edit(traces, Service, Hasher, func(s *jaeger.Span) { s.Duration += longer.Microseconds() })
	edit(traces, Service, Loop, func(s *jaeger.Span) { s.Duration += longer.Microseconds() })
	r := Analyze(traces)
	if r.Bottleneck != Hasher || !strings.HasPrefix(r.Verdict, "bottleneck: hasher — ") {
		t.Fatalf("bottleneck %q: %s", r.Bottleneck, r.Verdict)
	}
}

func TestLoopsWithoutRngSpansStillCount(t *testing.T) {
	traces := load(t, "rng-bound.json")
	drop(traces, RNG, Wait)
	drop(traces, RNG, Hold)
	r := Analyze(traces)
	if r.Loops != 12 || r.RNGQueueLoops != 0 || r.RNGQueue != -1 {
		t.Fatalf("loops %d, with rng spans %d, queueing %.2f", r.Loops, r.RNGQueueLoops, r.RNGQueue)
	}
	// Without the wait spans the queueing is unknown; rng still takes most of the loop.
	if r.Bottleneck != RNG {
		t.Fatalf("bottleneck %q: %s", r.Bottleneck, r.Verdict)
	}
	if strings.Contains(r.Verdict, "waiting") {
		t.Errorf("verdict claims a queueing share it could not measure: %s", r.Verdict)
	}
}

// A worker run with WORKER_PAUSE=0 makes no pause span; its loops still count.
func TestLoopsWithoutAPauseStillCount(t *testing.T) {
	traces := load(t, "rng-bound.json")
	drop(traces, Service, Pause)
	r := Analyze(traces)
	if r.Loops != 12 || r.Skipped != 0 || r.Step(Pause).Total != 0 || r.Bottleneck != RNG {
		t.Fatalf("loops %d, skipped %d, pause %v, bottleneck %q; want 12, 0, 0, rng", r.Loops, r.Skipped, r.Step(Pause).Total, r.Bottleneck)
	}
}

func TestFailedAndPartialLoopsAreSkipped(t *testing.T) {
	traces := load(t, "rng-bound.json")
	for i := range traces[0].Spans {
		if traces[0].Spans[i].OperationName == Loop {
			traces[0].Spans[i].Tags = append(traces[0].Spans[i].Tags, jaeger.KeyValue{Key: "error", Type: "bool", Value: true})
		}
	}
	drop(traces[1:2], Service, Hasher)
	r := Analyze(traces)
	if r.Loops != 10 || r.Skipped != 2 {
		t.Fatalf("loops %d, skipped %d; want 10 and 2", r.Loops, r.Skipped)
	}
}

func TestOtherTracesAreIgnored(t *testing.T) {
	traces := load(t, "rng-bound.json")
	drop(traces[:3], Service, Loop) // as a flush trace: no loop root
	r := Analyze(traces)
	if r.Loops != 9 || r.Skipped != 0 {
		t.Fatalf("loops %d, skipped %d; want 9 and 0", r.Loops, r.Skipped)
	}
}

func TestNoLoopsSaysWhy(t *testing.T) {
	r := Analyze(nil)
	if r.Bottleneck != "" || !strings.Contains(r.Verdict, "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Fatalf("bottleneck %q: %s", r.Bottleneck, r.Verdict)
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 20; i++ {
		ds = append(ds, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{0.5: 10, 0.95: 19, 1: 20, 0.01: 1} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%.0f of 1..20 = %d, want %d", 100*p, got, want)
		}
	}
	if got := percentile(ds[:1], 0.95); got != 1 {
		t.Errorf("p95 of one value = %d", got)
	}
}

func TestReportJSONGivesMilliseconds(t *testing.T) {
	r := Analyze(load(t, "rng-bound.json"))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Loop struct {
			P50 float64 `json:"p50_ms"`
		} `json:"loop"`
		Steps []struct {
			Name  string  `json:"name"`
			Share float64 `json:"share"`
		} `json:"steps"`
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if math.Abs(back.Loop.P50-ms(r.Loop.P50)) > 1e-9 || back.Loop.P50 < 100 || back.Verdict != r.Verdict || len(back.Steps) != 4 {
		t.Fatalf("JSON %s", b)
	}
}

func TestTextShowsEveryStep(t *testing.T) {
	var b strings.Builder
	if err := Analyze(load(t, "rng-bound.json")).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"\nloop ", "\npause ", "\nrng ", "\nhasher ", "\nother ", "82% of it waiting for the entropy slot", "\nbottleneck: rng"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}
