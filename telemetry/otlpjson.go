package telemetry

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// This file writes an OTLP ExportTraceServiceRequest in the OTLP/JSON encoding: IDs as
// lowercase hex, 64-bit integers and nanosecond times as decimal strings, enums as
// numbers, fields that hold their zero value left out. It appends to a byte slice with
// strconv, without reflection or intermediate structs. Exports are protobuf unless
// OTEL_EXPORTER_OTLP_PROTOCOL=http/json asks for this, for a collector that takes only
// JSON or a person reading the wire.

// encodeJSON appends the JSON request carrying spans to b.
func (e *spanEncoder) encodeJSON(b []byte, spans []spanData) []byte {
	e.group(spans)
	b = append(b, `{"resourceSpans":[`...)
	for i := range e.groups {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.groups[i].append(b)
	}
	b = append(b, "]}"...)
	e.reset()
	return b
}

func (g *resourceGroup) append(b []byte) []byte {
	b = append(b, `{"resource":{"attributes":`...)
	b = appendAttributeIter(b, g.res.Iter())
	b = append(b, `},"scopeSpans":[`...)
	for i := range g.scopes {
		if i > 0 {
			b = append(b, ',')
		}
		b = g.scopes[i].append(b)
	}
	b = append(b, ']')
	if url := g.res.SchemaURL(); url != "" {
		b = append(b, `,"schemaUrl":`...)
		b = appendJSONString(b, url)
	}
	return append(b, '}')
}

func (g *scopeGroup) append(b []byte) []byte {
	b = append(b, `{"scope":{"name":`...)
	b = appendJSONString(b, g.scope.Name)
	if g.scope.Version != "" {
		b = append(b, `,"version":`...)
		b = appendJSONString(b, g.scope.Version)
	}
	if g.scope.Attributes.Len() > 0 {
		b = append(b, `,"attributes":`...)
		b = appendAttributeIter(b, g.scope.Attributes.Iter())
	}
	b = appendList(b, `},"spans":[`, g.spans, appendSpan, "]")
	if g.scope.SchemaURL != "" {
		b = append(b, `,"schemaUrl":`...)
		b = appendJSONString(b, g.scope.SchemaURL)
	}
	return append(b, '}')
}

func appendSpan(b []byte, s spanData) []byte {
	sc := s.SpanContext()
	b = appendIDs(b, sc)
	parent := s.Parent()
	if parent.SpanID().IsValid() {
		id := parent.SpanID()
		b = append(b, `,"parentSpanId":"`...)
		b = hex.AppendEncode(b, id[:])
		b = append(b, '"')
	}
	b = append(b, `,"flags":`...)
	b = strconv.AppendUint(b, spanFlags(sc.TraceFlags(), parent), 10)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, s.Name())
	if k := spanKind(s.SpanKind()); k != 0 {
		b = append(b, `,"kind":`...)
		b = strconv.AppendInt(b, k, 10)
	}
	b = append(b, `,"startTimeUnixNano":`...)
	b = appendNanos(b, s.StartTime().UnixNano())
	b = append(b, `,"endTimeUnixNano":`...)
	b = appendNanos(b, s.EndTime().UnixNano())
	if attrs := s.Attributes(); len(attrs) > 0 {
		b = append(b, `,"attributes":`...)
		b = appendAttributes(b, attrs)
	}
	b = appendDropped(b, "droppedAttributesCount", s.DroppedAttributes())
	if events := s.Events(); len(events) > 0 {
		b = appendList(b, `,"events":[`, events, appendEvent, "]")
	}
	b = appendDropped(b, "droppedEventsCount", s.DroppedEvents())
	if links := s.Links(); len(links) > 0 {
		b = appendList(b, `,"links":[`, links, appendLink, "]")
	}
	b = appendDropped(b, "droppedLinksCount", s.DroppedLinks())
	b = append(b, `,"status":{`...)
	st := s.Status()
	if st.Description != "" {
		b = append(b, `"message":`...)
		b = appendJSONString(b, st.Description)
	}
	if c := statusCode(st.Code); c != 0 {
		if st.Description != "" {
			b = append(b, ',')
		}
		b = append(b, `"code":`...)
		b = strconv.AppendInt(b, c, 10)
	}
	return append(b, "}}"...)
}

func appendEvent(b []byte, ev sdktrace.Event) []byte {
	b = append(b, `{"timeUnixNano":`...)
	b = appendNanos(b, ev.Time.UnixNano())
	b = append(b, `,"name":`...)
	b = appendJSONString(b, ev.Name)
	if len(ev.Attributes) > 0 {
		b = append(b, `,"attributes":`...)
		b = appendAttributes(b, ev.Attributes)
	}
	b = appendDropped(b, "droppedAttributesCount", ev.DroppedAttributeCount)
	return append(b, '}')
}

func appendLink(b []byte, l sdktrace.Link) []byte {
	b = appendIDs(b, l.SpanContext)
	if len(l.Attributes) > 0 {
		b = append(b, `,"attributes":`...)
		b = appendAttributes(b, l.Attributes)
	}
	b = appendDropped(b, "droppedAttributesCount", l.DroppedAttributeCount)
	b = append(b, `,"flags":`...)
	b = strconv.AppendUint(b, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext), 10)
	return append(b, '}')
}

// appendList writes open, xs each by elem and comma-separated, then end.
func appendList[T any](b []byte, open string, xs []T, elem func([]byte, T) []byte, end string) []byte {
	b = append(b, open...)
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, x)
	}
	return append(b, end...)
}

// appendIDs opens an object with the trace and span IDs of sc and its trace state.
func appendIDs(b []byte, sc trace.SpanContext) []byte {
	tid, sid := sc.TraceID(), sc.SpanID()
	b = append(b, `{"traceId":"`...)
	b = hex.AppendEncode(b, tid[:])
	b = append(b, `","spanId":"`...)
	b = hex.AppendEncode(b, sid[:])
	b = append(b, '"')
	if ts := sc.TraceState(); ts.Len() > 0 {
		b = append(b, `,"traceState":`...)
		b = appendJSONString(b, ts.String())
	}
	return b
}

// appendNanos writes a time as a quoted decimal count of Unix nanoseconds, as OTLP/JSON
// writes its fixed64 fields; times before 1970 become 0.
func appendNanos(b []byte, ns int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, max(ns, 0), 10)
	return append(b, '"')
}

// appendDropped writes a dropped count, left out when 0 as protobuf's JSON leaves out
// zero values.
func appendDropped(b []byte, field string, n int) []byte {
	if n <= 0 {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, field...)
	b = append(b, `":`...)
	return strconv.AppendUint(b, uint64(min(n, math.MaxUint32)), 10)
}

func appendAttributes(b []byte, attrs []attribute.KeyValue) []byte {
	return appendList(b, "[", attrs, appendKeyValue, "]")
}

func appendAttributeIter(b []byte, it attribute.Iterator) []byte {
	b = append(b, '[')
	for first := true; it.Next(); first = false {
		if !first {
			b = append(b, ',')
		}
		b = appendKeyValue(b, it.Attribute())
	}
	return append(b, ']')
}

func appendKeyValue(b []byte, kv attribute.KeyValue) []byte {
	b = append(b, `{"key":`...)
	b = appendJSONString(b, string(kv.Key))
	b = append(b, `,"value":`...)
	b = appendAnyValue(b, kv.Value)
	return append(b, '}')
}

// appendAnyValue writes v as an OTLP AnyValue.
func appendAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.STRING:
		return appendStringValue(b, v.AsString())
	case attribute.BOOL:
		return appendBoolValue(b, v.AsBool())
	case attribute.INT64:
		return appendInt(b, v.AsInt64())
	case attribute.FLOAT64:
		return appendDouble(b, v.AsFloat64())
	case attribute.BYTESLICE:
		b = append(b, `{"bytesValue":"`...)
		b = base64.StdEncoding.AppendEncode(b, v.AsByteSlice())
		return append(b, `"}`...)
	case attribute.BOOLSLICE:
		return appendArray(b, v.AsBoolSlice(), appendBoolValue)
	case attribute.INT64SLICE:
		return appendArray(b, v.AsInt64Slice(), appendInt)
	case attribute.FLOAT64SLICE:
		return appendArray(b, v.AsFloat64Slice(), appendDouble)
	case attribute.STRINGSLICE:
		return appendArray(b, v.AsStringSlice(), appendStringValue)
	case attribute.SLICE:
		return appendArray(b, v.AsSlice(), appendAnyValue)
	case attribute.MAP:
		b = append(b, `{"kvlistValue":{"values":`...)
		b = appendAttributes(b, v.AsMap())
		return append(b, "}}"...)
	}
	return append(b, "{}"...) // EMPTY: an AnyValue with no value set
}

// appendArray writes xs as an AnyValue holding an array, each element an AnyValue
// written by elem.
func appendArray[T any](b []byte, xs []T, elem func([]byte, T) []byte) []byte {
	return appendList(b, `{"arrayValue":{"values":[`, xs, elem, "]}}")
}

func appendStringValue(b []byte, s string) []byte {
	b = append(b, `{"stringValue":`...)
	b = appendJSONString(b, s)
	return append(b, '}')
}

func appendBoolValue(b []byte, v bool) []byte {
	b = append(b, `{"boolValue":`...)
	b = strconv.AppendBool(b, v)
	return append(b, '}')
}

// appendInt writes an AnyValue holding n, as a string: JSON numbers lose 64-bit precision.
func appendInt(b []byte, n int64) []byte {
	b = append(b, `{"intValue":"`...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, `"}`...)
}

// appendDouble writes an AnyValue holding f; JSON has no NaN or infinities, so those
// are the strings protobuf's JSON mapping uses.
func appendDouble(b []byte, f float64) []byte {
	b = append(b, `{"doubleValue":`...)
	switch {
	case math.IsNaN(f):
		b = append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		b = append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		b = append(b, `"-Infinity"`...)
	default:
		b = strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	return append(b, '}')
}

// appendJSONString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so a stray byte in an attribute cannot void the whole batch.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
