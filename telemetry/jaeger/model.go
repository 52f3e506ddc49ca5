// Package jaeger reads traces from Jaeger's HTTP query API, the JSON API its UI uses
// (/api/services, /api/traces).
package jaeger

import "time"

// Trace is one trace as the query API returns it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Span is one span. Times are in microseconds, as Jaeger sends them.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"` // µs since the epoch
	Duration      int64       `json:"duration"`  // µs
	Tags          []KeyValue  `json:"tags"`
	Logs          []Log       `json:"logs"` // the span's events
	ProcessID     string      `json:"processID"`
}

// Log is a span event: its name is the field "event".
type Log struct {
	Timestamp int64      `json:"timestamp"` // µs since the epoch
	Fields    []KeyValue `json:"fields"`
}

// Reference links a span to another, its parent for CHILD_OF.
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// KeyValue is a tag; Value is a string, bool, number or binary as Type says.
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Process is the service that recorded spans.
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// Parent is the ID of the span's parent in the same trace, or "".
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" && r.TraceID == s.TraceID {
			return r.SpanID
		}
	}
	return ""
}

// Dur is the span's duration.
func (s Span) Dur() time.Duration { return time.Duration(s.Duration) * time.Microsecond }

// Start is when the span began.
func (s Span) Start() time.Time { return time.UnixMicro(s.StartTime) }

// Tag returns the value of the tag named key.
func (s Span) Tag(key string) (any, bool) {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Event returns the span's first event named name.
func (s Span) Event(name string) (Log, bool) {
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if f.Key == "event" && f.Value == name {
				return l, true
			}
		}
	}
	return Log{}, false
}

// Failed reports whether the span ended with an error status.
func (s Span) Failed() bool {
	v, _ := s.Tag("error")
	if b, ok := v.(bool); ok && b {
		return true
	}
	v, _ = s.Tag("otel.status_code")
	return v == "ERROR"
}

// Service is the name of the service that recorded span s of trace t.
func (t Trace) Service(s Span) string { return t.Processes[s.ProcessID].ServiceName }
