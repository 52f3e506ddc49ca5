package bottleneck

import (
	"fmt"
	"slices"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/telemetry/jaeger"
)

// SlotHeld is the event rng adds to a request's span when it takes its entropy slot.
const SlotHeld = dockercoins.EventSlotHeld

// StepDuration is the attribute of the worker's step events that holds the step's
// length in µs.
const StepDuration = dockercoins.EventStepDuration

// Phases reads the moments the services mark as events as the spans they stand for,
// which costs a loop four spans less than making them: each step event of a worker's
// loop span becomes a child span of the loop (the calls' server spans, children of the
// loop, move under the step of their service), and each rng span that marks SlotHeld
// gets two child spans, Wait from its start to the event and Hold from the event to
// its end, with the event's fields as the wait's tags. The report and the waterfall
// read traces through it. t is not changed.
func Phases(t jaeger.Trace) jaeger.Trace {
	var added []jaeger.Span
	moved := map[[2]string]string{} // loop span ID, service -> the step span its calls go under
	for _, s := range t.Spans {
		switch {
		case s.OperationName == Loop && t.Service(s) == Service:
			for _, st := range stepSpans(s) {
				added = append(added, st)
				moved[[2]string{s.SpanID, st.OperationName}] = st.SpanID
			}
		case t.Service(s) == RNG:
			added = append(added, slotSpans(s)...)
		}
	}
	if len(added) == 0 {
		return t
	}
	spans := append(make([]jaeger.Span, 0, len(t.Spans)+len(added)), t.Spans...)
	for i, s := range spans {
		if step, ok := moved[[2]string{s.Parent(), t.Service(s)}]; ok {
			spans[i].References = childOf(s.TraceID, step)
		}
	}
	t.Spans = append(spans, added...)
	return t
}

// stepSpans makes a span of each step event of a loop span.
func stepSpans(loop jaeger.Span) []jaeger.Span {
	var out []jaeger.Span
	for _, l := range loop.Logs {
		name, dur, failed := "", int64(-1), ""
		for _, f := range l.Fields {
			switch f.Key {
			case "event":
				name, _ = f.Value.(string)
			case StepDuration:
				if v, ok := f.Value.(float64); ok { // a JSON number
					dur = int64(v)
				}
			case "error.message":
				failed = fmt.Sprint(f.Value)
			}
		}
		if dur < 0 || !slices.Contains(Steps, name) {
			continue
		}
		s := jaeger.Span{TraceID: loop.TraceID, SpanID: loop.SpanID + "-" + name, OperationName: name,
			References: childOf(loop.TraceID, loop.SpanID), StartTime: l.Timestamp, Duration: dur, ProcessID: loop.ProcessID}
		if failed != "" {
			s.Tags = []jaeger.KeyValue{{Key: "error", Type: "bool", Value: true}, {Key: "error.message", Type: "string", Value: failed}}
		}
		out = append(out, s)
	}
	return out
}

// slotSpans splits an rng span that marks SlotHeld into its wait and its hold.
func slotSpans(s jaeger.Span) []jaeger.Span {
	ev, ok := s.Event(SlotHeld)
	if !ok {
		return nil
	}
	at := min(max(ev.Timestamp, s.StartTime), s.StartTime+s.Duration)
	var tags []jaeger.KeyValue
	for _, f := range ev.Fields {
		if f.Key != "event" {
			tags = append(tags, f)
		}
	}
	return []jaeger.Span{
		{TraceID: s.TraceID, SpanID: s.SpanID + "-wait", OperationName: Wait, References: childOf(s.TraceID, s.SpanID),
			StartTime: s.StartTime, Duration: at - s.StartTime, Tags: tags, ProcessID: s.ProcessID},
		{TraceID: s.TraceID, SpanID: s.SpanID + "-hold", OperationName: Hold, References: childOf(s.TraceID, s.SpanID),
			StartTime: at, Duration: s.StartTime + s.Duration - at, ProcessID: s.ProcessID},
	}
}

func childOf(traceID, spanID string) []jaeger.Reference {
	return []jaeger.Reference{{RefType: "CHILD_OF", TraceID: traceID, SpanID: spanID}}
}
