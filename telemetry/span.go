package telemetry

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// span is a recording span. Until End it takes changes, safely from any goroutine;
// after End it takes none, and is itself what the exporter reads (spanData), so ending
// a span copies nothing. Its first attributes and events live inside it: a server span
// (up to six attributes, one event) or a loop span (two and two) is one allocation.
type span struct {
	embedded.Span
	tracer *tracer
	sc     trace.SpanContext
	parent trace.SpanContext
	kind   trace.SpanKind

	mu      sync.Mutex
	ended   bool
	name    string
	start   time.Time
	end     time.Time
	status  sdktrace.Status
	attrs   []attribute.KeyValue
	events  []sdktrace.Event
	links   []sdktrace.Link
	dropped struct{ attrs, events, links int }

	inline       [8]attribute.KeyValue
	inlineEvents [2]sdktrace.Event
}

// spanData is what the OTLP encoders read of an ended span. The SDK's ReadOnlySpan has
// the same methods, which the encoders' tests use.
type spanData interface {
	Name() string
	SpanContext() trace.SpanContext
	Parent() trace.SpanContext
	SpanKind() trace.SpanKind
	StartTime() time.Time
	EndTime() time.Time
	Attributes() []attribute.KeyValue
	DroppedAttributes() int
	Events() []sdktrace.Event
	DroppedEvents() int
	Links() []sdktrace.Link
	DroppedLinks() int
	Status() sdktrace.Status
	Resource() *resource.Resource
	InstrumentationScope() instrumentation.Scope
}

var (
	_ trace.Span = (*span)(nil)
	_ spanData   = (*span)(nil)
	_ spanData   = sdktrace.ReadOnlySpan(nil)
)

// End ends the span and queues it for export if it is sampled. A panic under way when
// End is deferred is recorded as an exception event and goes on.
func (s *span) End(opts ...trace.SpanEndOption) {
	if r := recover(); r != nil {
		defer panic(r)
		s.AddEvent("exception", exception(fmt.Sprintf("panic: %T", r), fmt.Sprint(r)))
	}
	end := time.Now()
	if len(opts) > 0 {
		if c := trace.NewSpanEndConfig(opts...); !c.Timestamp().IsZero() {
			end = c.Timestamp()
		}
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.end = true, end
	s.mu.Unlock()
	if s.sc.IsSampled() {
		s.tracer.provider.queue.add(s)
	}
}

// IsRecording reports whether the span still takes changes: until it ends.
func (s *span) IsRecording() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

func (s *span) SpanContext() trace.SpanContext       { return s.sc }
func (s *span) TracerProvider() trace.TracerProvider { return s.tracer.provider }

// SetStatus sets the status as the API says: Ok is final, Error beats Unset, and only
// Error keeps a description.
func (s *span) SetStatus(code codes.Code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.status.Code > code {
		return
	}
	s.status = sdktrace.Status{Code: code}
	if code == codes.Error {
		s.status.Description = description
	}
}

func (s *span) SetName(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.name = name
	}
}

// SetAttributes sets attributes, a key already set taking the new value. Beyond
// maxAttributes keys, new keys are dropped and counted.
func (s *span) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.setAttributes(kv)
	}
}

func (s *span) setAttributes(kv []attribute.KeyValue) {
next:
	for _, a := range kv {
		if !a.Valid() {
			continue
		}
		for i := range s.attrs {
			if s.attrs[i].Key == a.Key {
				s.attrs[i] = a
				continue next
			}
		}
		if len(s.attrs) == maxAttributes {
			s.dropped.attrs++
			continue
		}
		s.attrs = append(s.attrs, a)
	}
}

// AddEvent adds an event, at the time its options give or now.
func (s *span) AddEvent(name string, opts ...trace.EventOption) {
	c := trace.NewEventConfig(opts...) // its attributes are a copy of the caller's
	at := c.Timestamp()
	if at.IsZero() {
		at = time.Now()
	}
	attrs, dropped := capAttributes(c.Attributes())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	if len(s.events) == maxEvents {
		s.dropped.events++
		return
	}
	if s.events == nil {
		s.events = s.inlineEvents[:0]
	}
	s.events = append(s.events, sdktrace.Event{Name: name, Attributes: attrs, DroppedAttributeCount: dropped, Time: at})
}

// RecordError adds err as an exception event, as the semantic conventions name it.
// It does not change the status.
func (s *span) RecordError(err error, opts ...trace.EventOption) {
	if err == nil {
		return
	}
	s.AddEvent("exception", append(opts, exception(fmt.Sprintf("%T", err), err.Error()))...)
}

// exception is the attributes of an exception event.
func exception(typ, message string) trace.EventOption {
	return trace.WithAttributes(attribute.String("exception.type", typ), attribute.String("exception.message", message))
}

// capAttributes keeps the first maxAttributes of an event's or a link's attributes and
// says how many it dropped.
func capAttributes(attrs []attribute.KeyValue) ([]attribute.KeyValue, int) {
	if len(attrs) > maxAttributes {
		return attrs[:maxAttributes], len(attrs) - maxAttributes
	}
	return attrs, 0
}

func (s *span) AddLink(l trace.Link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.addLink(l)
	}
}

func (s *span) addLink(l trace.Link) {
	if !l.SpanContext.IsValid() {
		return
	}
	if len(s.links) == maxLinks {
		s.dropped.links++
		return
	}
	attrs, dropped := capAttributes(l.Attributes)
	s.links = append(s.links, sdktrace.Link{SpanContext: l.SpanContext, Attributes: slices.Clone(attrs), DroppedAttributeCount: dropped})
}

// The spanData methods: the exporter calls them only once the span has ended, when
// nothing changes it any more.

func (s *span) Name() string                                { return s.name }
func (s *span) Parent() trace.SpanContext                   { return s.parent }
func (s *span) SpanKind() trace.SpanKind                    { return s.kind }
func (s *span) StartTime() time.Time                        { return s.start }
func (s *span) EndTime() time.Time                          { return s.end }
func (s *span) Attributes() []attribute.KeyValue            { return s.attrs }
func (s *span) DroppedAttributes() int                      { return s.dropped.attrs }
func (s *span) Events() []sdktrace.Event                    { return s.events }
func (s *span) DroppedEvents() int                          { return s.dropped.events }
func (s *span) Links() []sdktrace.Link                      { return s.links }
func (s *span) DroppedLinks() int                           { return s.dropped.links }
func (s *span) Status() sdktrace.Status                     { return s.status }
func (s *span) Resource() *resource.Resource                { return s.tracer.provider.res }
func (s *span) InstrumentationScope() instrumentation.Scope { return s.tracer.scope }
