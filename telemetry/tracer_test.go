package telemetry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// recordingExporter keeps the spans it is sent. With hold set, each export waits until
// hold is closed or its context ends.
type recordingExporter struct {
	hold chan struct{}

	mu      sync.Mutex
	spans   []spanData
	exports []int // the size of each export
}

func (e *recordingExporter) ExportSpans(ctx context.Context, spans []spanData) error {
	if e.hold != nil {
		select {
		case <-e.hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spans = append(e.spans, spans...)
	e.exports = append(e.exports, len(spans))
	return nil
}

func (e *recordingExporter) Shutdown(context.Context) error { return nil }

func (e *recordingExporter) got() ([]spanData, []int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]spanData(nil), e.spans...), append([]int(nil), e.exports...)
}

// newTestTracing is a provider sampling as parentbased_always_on into a queue of size
// spans exported in batches of batch, a partial batch after delay.
func newTestTracing(t *testing.T, exp spanExporter, size, batch int, delay time.Duration) (*tracerProvider, *spanCounts) {
	t.Helper()
	counts := &spanCounts{}
	p := newTracerProvider(sdktrace.ParentBased(sdktrace.AlwaysSample()),
		resource.NewSchemaless(attribute.String("service.name", "test")),
		newSpanQueue(exp, counts, size, batch, delay, 5*time.Second))
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	return p, counts
}

func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func TestSpansExportWhatWasRecordedUntilTheirEnd(t *testing.T) {
	exp := &recordingExporter{}
	p, counts := newTestTracing(t, exp, 16, 8, time.Hour)
	tracer := p.Tracer("scope-a", trace.WithInstrumentationVersion("1.0"))
	if p.Tracer("scope-a", trace.WithInstrumentationVersion("1.0")) != tracer {
		t.Error("the same scope gave two tracers")
	}
	t0 := time.Unix(1700000000, 0)
	ctx, root := tracer.Start(context.Background(), "loop", trace.WithAttributes(attribute.Int("a", 1), attribute.Int("b", 2)))
	root.SetAttributes(attribute.Int("a", 3), attribute.KeyValue{}) // a key already set takes the new value; an empty key is dropped
	root.SetName("loop2")
	root.AddEvent("rng", trace.WithTimestamp(t0), trace.WithAttributes(attribute.Int("d", 5)))
	root.SetStatus(codes.Error, "boom")
	root.SetStatus(codes.Unset, "") // Unset never overrides Error

	_, child := tracer.Start(ctx, "GET /{n}", trace.WithSpanKind(trace.SpanKindServer))
	child.RecordError(errors.New("slow"))
	child.SetStatus(codes.Ok, "ignored") // Ok keeps no description
	child.SetStatus(codes.Error, "late") // and is final
	child.End()
	root.End(trace.WithTimestamp(t0.Add(time.Second)))

	root.SetAttributes(attribute.Int("after", 1))
	root.AddEvent("after")
	root.SetName("after")
	root.End()
	if root.IsRecording() {
		t.Error("an ended span still records")
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans, _ := exp.got()
	if len(spans) != 2 {
		t.Fatalf("%d spans exported, want 2 (each ended once)", len(spans))
	}
	c, r := spans[0], spans[1]
	if r.Name() != "loop2" || r.SpanKind() != trace.SpanKindInternal || r.Parent().IsValid() {
		t.Errorf("root: %q kind %v parent %v", r.Name(), r.SpanKind(), r.Parent())
	}
	if got := attrMap(r.Attributes()); fmt.Sprint(got) != fmt.Sprint(map[string]any{"a": int64(3), "b": int64(2)}) || r.DroppedAttributes() != 0 {
		t.Errorf("root attributes %v (dropped %d)", got, r.DroppedAttributes())
	}
	if ev := r.Events(); len(ev) != 1 || ev[0].Name != "rng" || !ev[0].Time.Equal(t0) || attrMap(ev[0].Attributes)["d"] != int64(5) {
		t.Errorf("root events %+v", ev)
	}
	if st := r.Status(); st.Code != codes.Error || st.Description != "boom" {
		t.Errorf("root status %+v", st)
	}
	if !r.EndTime().Equal(t0.Add(time.Second)) {
		t.Errorf("root ended at %v, not the time End was given", r.EndTime())
	}
	if !c.Parent().Equal(r.SpanContext()) || c.SpanContext().TraceID() != r.SpanContext().TraceID() || c.SpanKind() != trace.SpanKindServer {
		t.Errorf("child: parent %v, trace %v, kind %v; root %v", c.Parent(), c.SpanContext().TraceID(), c.SpanKind(), r.SpanContext())
	}
	if !c.SpanContext().IsSampled() || c.SpanContext().SpanID() == r.SpanContext().SpanID() {
		t.Errorf("child span context %v", c.SpanContext())
	}
	if ev := c.Events(); len(ev) != 1 || ev[0].Name != "exception" || attrMap(ev[0].Attributes)["exception.message"] != "slow" {
		t.Errorf("child events %+v", ev)
	}
	if st := c.Status(); st.Code != codes.Ok || st.Description != "" {
		t.Errorf("child status %+v", st)
	}
	if c.InstrumentationScope().Name != "scope-a" || c.InstrumentationScope().Version != "1.0" || c.Resource() != p.res {
		t.Errorf("scope %+v, resource %v", c.InstrumentationScope(), c.Resource())
	}
	if e, x := counts.ended.Load(), counts.exported.Load(); e != 2 || x != 2 {
		t.Errorf("counted %d ended, %d exported; want 2 and 2", e, x)
	}
}

func TestSpansFollowTheirParentsSamplingDecision(t *testing.T) {
	exp := &recordingExporter{}
	p, _ := newTestTracing(t, exp, 16, 8, time.Hour)
	tracer := p.Tracer("test")
	remote := func(flags trace.TraceFlags) context.Context {
		return trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: flags, Remote: true}))
	}

	ctx, dropped := tracer.Start(remote(0), "not sampled")
	sc := dropped.SpanContext()
	if dropped.IsRecording() || sc.IsSampled() || sc.TraceID() != (trace.TraceID{1, 2, 3}) || !sc.SpanID().IsValid() || sc.SpanID() == (trace.SpanID{4, 5, 6}) {
		t.Errorf("under an unsampled parent: recording %v, context %v", dropped.IsRecording(), sc)
	}
	if !trace.SpanContextFromContext(ctx).Equal(sc) {
		t.Error("an unsampled span's context is not carried on, so onward calls lose the trace")
	}
	dropped.End()

	_, kept := tracer.Start(remote(trace.FlagsSampled), "sampled")
	kept.End()
	_, root := tracer.Start(remote(trace.FlagsSampled), "new root", trace.WithNewRoot())
	root.End()

	p.Shutdown(context.Background())
	spans, _ := exp.got()
	if len(spans) != 2 {
		t.Fatalf("%d spans exported, want the 2 sampled ones", len(spans))
	}
	if s := spans[0]; s.Parent().SpanID() != (trace.SpanID{4, 5, 6}) || !s.Parent().IsRemote() || s.SpanContext().TraceID() != (trace.TraceID{1, 2, 3}) {
		t.Errorf("child of a remote parent: parent %v, trace %v", s.Parent(), s.SpanContext().TraceID())
	}
	if s := spans[1]; s.Parent().IsValid() || s.SpanContext().TraceID() == (trace.TraceID{1, 2, 3}) || !s.SpanContext().TraceID().IsValid() {
		t.Errorf("a new root kept its parent: parent %v, trace %v", s.Parent(), s.SpanContext().TraceID())
	}
}

func TestSpanLimitsDropAndCount(t *testing.T) {
	exp := &recordingExporter{}
	p, _ := newTestTracing(t, exp, 16, 8, time.Hour)
	_, s := p.Tracer("test").Start(context.Background(), "big")
	many := make([]attribute.KeyValue, maxAttributes+2)
	for i := range many {
		many[i] = attribute.Int(fmt.Sprint("k", i), i)
	}
	s.SetAttributes(many...)
	s.SetAttributes(attribute.String("k0", "updated")) // a key it has still takes a new value
	for i := range maxEvents + 3 {
		s.AddEvent(fmt.Sprint("e", i), trace.WithAttributes(many...))
	}
	s.End()
	p.Shutdown(context.Background())
	spans, _ := exp.got()
	if len(spans) != 1 {
		t.Fatalf("%d spans exported", len(spans))
	}
	got := spans[0]
	if n, d := len(got.Attributes()), got.DroppedAttributes(); n != maxAttributes || d != 2 {
		t.Errorf("%d attributes, %d dropped; want %d and 2", n, d, maxAttributes)
	}
	if v := attrMap(got.Attributes())["k0"]; v != "updated" {
		t.Errorf("k0 = %v at the limit", v)
	}
	if n, d := len(got.Events()), got.DroppedEvents(); n != maxEvents || d != 3 {
		t.Errorf("%d events, %d dropped; want %d and 3", n, d, maxEvents)
	}
	if ev := got.Events()[0]; len(ev.Attributes) != maxAttributes || ev.DroppedAttributeCount != 2 {
		t.Errorf("an event kept %d attributes, dropped %d", len(ev.Attributes), ev.DroppedAttributeCount)
	}
}

// TestQueueExportsWholeBatchesAtOnceAndTheRestOnTime checks when spans leave: a whole
// batch at once, a partial one only after the delay, and what is left at shutdown.
func TestQueueExportsWholeBatchesAtOnceAndTheRestOnTime(t *testing.T) {
	exp := &recordingExporter{}
	p, _ := newTestTracing(t, exp, 64, 4, 300*time.Millisecond)
	tracer := p.Tracer("test")
	end := func(n int) {
		for range n {
			_, s := tracer.Start(context.Background(), "s")
			s.End()
		}
	}
	start := time.Now()
	end(4)
	waitFor(t, 2*time.Second, func() bool { _, x := exp.got(); return len(x) == 1 })
	if waited := time.Since(start); waited > 200*time.Millisecond {
		t.Errorf("a whole batch waited %v: it should not wait for the delay", waited)
	}
	end(2)
	time.Sleep(50 * time.Millisecond)
	if _, x := exp.got(); len(x) != 1 {
		t.Errorf("a partial batch left before the delay: exports %v", x)
	}
	waitFor(t, 2*time.Second, func() bool { _, x := exp.got(); return len(x) == 2 })
	end(3)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, x := exp.got(); fmt.Sprint(x) != "[4 2 3]" {
		t.Errorf("exports %v, want [4 2 3]", x)
	}
	end(1) // after shutdown: neither exported nor counted
	if spans, _ := exp.got(); len(spans) != 9 {
		t.Errorf("%d spans exported, want 9", len(spans))
	}
}

// TestFullQueueDropsSpansAndCountsThem: with the collector stuck, a span's End never
// waits; what the queue cannot hold is dropped, and the counts show it.
func TestFullQueueDropsSpansAndCountsThem(t *testing.T) {
	exp := &recordingExporter{hold: make(chan struct{})}
	p, counts := newTestTracing(t, exp, 8, 4, time.Hour)
	tracer := p.Tracer("test")
	for range 4 { // a whole batch: its export starts, and hangs
		_, s := tracer.Start(context.Background(), "s")
		s.End()
	}
	waitFor(t, 2*time.Second, func() bool {
		p.queue.mu.Lock()
		defer p.queue.mu.Unlock()
		return len(p.queue.spans) == 0
	})
	start := time.Now()
	for range 20 {
		_, s := tracer.Start(context.Background(), "s")
		s.End()
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("20 spans took %v to end with the collector stuck", d)
	}
	close(exp.hold)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans, _ := exp.got()
	ended, exported, failed := counts.ended.Load(), counts.exported.Load(), counts.failed.Load()
	if ended != 24 || exported != 12 || failed != 0 || len(spans) != 12 {
		t.Errorf("ended %d, exported %d (%d received), failed %d; want 24, 12, 0: the 4 in flight and the 8 the queue holds", ended, exported, len(spans), failed)
	}
}

func TestShutdownGivesUpWhenItsTimeIsUp(t *testing.T) {
	exp := &recordingExporter{hold: make(chan struct{})} // never answers
	p, counts := newTestTracing(t, exp, 8, 4, time.Hour)
	_, s := p.Tracer("test").Start(context.Background(), "s")
	s.End()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown: %v, want the deadline", err)
	}
	// The export under way has its own 5 s; shutdown must not wait for it.
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if counts.exported.Load() != 0 || counts.ended.Load() != 1 {
		t.Errorf("ended %d, exported %d", counts.ended.Load(), counts.exported.Load())
	}
}

func TestDeferredEndRecordsAPanicAndLetsItGoOn(t *testing.T) {
	exp := &recordingExporter{}
	p, _ := newTestTracing(t, exp, 8, 4, time.Hour)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic to go on", r)
			}
		}()
		_, s := p.Tracer("test").Start(context.Background(), "s")
		defer s.End()
		panic("boom")
	}()
	p.Shutdown(context.Background())
	spans, _ := exp.got()
	if len(spans) != 1 || len(spans[0].Events()) != 1 || attrMap(spans[0].Events()[0].Attributes)["exception.message"] != "boom" {
		t.Fatalf("spans %d, want one with the panic as an exception event", len(spans))
	}
}

// TestSpanTakesChangesFromManyGoroutines is for the race detector: a span may be
// changed from several goroutines, and end while they do.
func TestSpanTakesChangesFromManyGoroutines(t *testing.T) {
	exp := &recordingExporter{}
	p, _ := newTestTracing(t, exp, 8, 4, time.Hour)
	_, s := p.Tracer("test").Start(context.Background(), "s")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				s.SetAttributes(attribute.Int(fmt.Sprint("g", g), i))
				s.AddEvent("e")
				s.SetStatus(codes.Error, "x")
				_ = s.IsRecording()
			}
		})
	}
	s.End()
	wg.Wait()
	p.Shutdown(context.Background())
	if spans, _ := exp.got(); len(spans) != 1 || len(spans[0].Events()) > maxEvents {
		t.Errorf("%d spans", len(spans))
	}
}

func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v", limit)
		}
	}
}
