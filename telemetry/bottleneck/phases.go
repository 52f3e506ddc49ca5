package bottleneck

import (
	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/telemetry/jaeger"
)

// SlotHeld is the event rng adds to a request's span when it takes its entropy slot.
const SlotHeld = dockercoins.EventSlotHeld

// Phases gives each rng span of t that marks SlotHeld two child spans, Wait from its
// start to the event and Hold from the event to its end, with the event's fields as
// the wait's tags. rng marks the moment instead of making the two spans itself, which
// costs a loop two spans less; the report and the waterfall read the phases as spans.
// t is not changed.
func Phases(t jaeger.Trace) jaeger.Trace {
	var added []jaeger.Span
	for _, s := range t.Spans {
		ev, ok := s.Event(SlotHeld)
		if !ok || t.Service(s) != RNG {
			continue
		}
		at := min(max(ev.Timestamp, s.StartTime), s.StartTime+s.Duration)
		parent := []jaeger.Reference{{RefType: "CHILD_OF", TraceID: s.TraceID, SpanID: s.SpanID}}
		var tags []jaeger.KeyValue
		for _, f := range ev.Fields {
			if f.Key != "event" {
				tags = append(tags, f)
			}
		}
		added = append(added,
			jaeger.Span{TraceID: s.TraceID, SpanID: s.SpanID + "-wait", OperationName: Wait, References: parent,
				StartTime: s.StartTime, Duration: at - s.StartTime, Tags: tags, ProcessID: s.ProcessID},
			jaeger.Span{TraceID: s.TraceID, SpanID: s.SpanID + "-hold", OperationName: Hold, References: parent,
				StartTime: at, Duration: s.StartTime + s.Duration - at, ProcessID: s.ProcessID})
	}
	if len(added) == 0 {
		return t
	}
	t.Spans = append(append(make([]jaeger.Span, 0, len(t.Spans)+len(added)), t.Spans...), added...)
	return t
}
