package telemetry

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
)

// This file holds what the two OTLP encodings (otlpproto.go, otlpjson.go) share: spans
// grouped by resource and scope, and OTLP's numbers for flags, kinds and status codes.

// OTLP's span flags: the low 8 bits are the W3C trace flags; these say whether the
// parent's context came from another process.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// spanEncoder encodes batches of spans. Its grouping state is reused from one batch to
// the next, so a steady stream of exports allocates little; it is not safe for
// concurrent use.
type spanEncoder struct {
	groups []resourceGroup
}

// resourceGroup is the spans of one resource, by instrumentation scope.
type resourceGroup struct {
	res    *resource.Resource
	key    attribute.Distinct
	scopes []scopeGroup
}

type scopeGroup struct {
	scope instrumentation.Scope
	spans []spanData
}

// group sorts spans by resource and scope, keeping their order within each.
func (e *spanEncoder) group(spans []spanData) {
	for _, s := range spans {
		if s == nil {
			continue
		}
		res := s.Resource()
		key := res.Equivalent()
		rg, added := slot(&e.groups, func(g *resourceGroup) bool { return g.key == key })
		if added {
			rg.res, rg.key = res, key
		}
		scope := s.InstrumentationScope()
		sg, added := slot(&rg.scopes, func(g *scopeGroup) bool { return g.scope == scope })
		if added {
			sg.scope = scope
		}
		sg.spans = append(sg.spans, s)
	}
}

// slot returns the element of *s that matches, or else a new one added to *s, and
// whether it is new. Within the capacity of *s the new one is the element a previous
// batch left there, emptied by reset but keeping its slices' storage.
func slot[T any](s *[]T, match func(*T) bool) (t *T, added bool) {
	for i := range *s {
		if match(&(*s)[i]) {
			return &(*s)[i], false
		}
	}
	if len(*s) < cap(*s) {
		*s = (*s)[:len(*s)+1]
	} else {
		var zero T
		*s = append(*s, zero)
	}
	return &(*s)[len(*s)-1], true
}

// reset empties the groups, dropping the references to spans and resources but keeping
// the slices' storage for the next batch.
func (e *spanEncoder) reset() {
	for i := range e.groups {
		g := &e.groups[i]
		for j := range g.scopes {
			clear(g.scopes[j].spans)
			g.scopes[j].spans = g.scopes[j].spans[:0]
			g.scopes[j].scope = instrumentation.Scope{}
		}
		g.scopes = g.scopes[:0]
		g.res, g.key = nil, attribute.Distinct{}
	}
	e.groups = e.groups[:0]
}

// spanFlags is OTLP's flags field: the trace flags, and whether the parent (or a link's
// target) is remote.
func spanFlags(tf trace.TraceFlags, parent trace.SpanContext) uint64 {
	f := uint64(tf) | flagHasIsRemote
	if parent.IsRemote() {
		f |= flagIsRemote
	}
	return f
}

// spanKind maps the API's kinds to OTLP's SpanKind numbers, which happen to agree; the
// switch keeps an unknown kind from passing through.
func spanKind(k trace.SpanKind) int64 {
	switch k {
	case trace.SpanKindInternal:
		return 1
	case trace.SpanKindServer:
		return 2
	case trace.SpanKindClient:
		return 3
	case trace.SpanKindProducer:
		return 4
	case trace.SpanKindConsumer:
		return 5
	}
	return 0
}

// statusCode maps the API's codes to OTLP's, which differ: OTLP has OK = 1, ERROR = 2.
func statusCode(c codes.Code) int64 {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}
