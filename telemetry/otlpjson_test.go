package telemetry

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The OTLP/JSON request as a collector reads it, field for field: decoded with unknown
// fields disallowed, a misnamed field fails the decoding.
type (
	otlpRequest struct {
		ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
	}
	otlpResourceSpans struct {
		Resource struct {
			Attributes             []otlpKeyValue `json:"attributes"`
			DroppedAttributesCount uint32         `json:"droppedAttributesCount"`
		} `json:"resource"`
		ScopeSpans []otlpScopeSpans `json:"scopeSpans"`
		SchemaURL  string           `json:"schemaUrl"`
	}
	otlpScopeSpans struct {
		Scope struct {
			Name       string         `json:"name"`
			Version    string         `json:"version"`
			Attributes []otlpKeyValue `json:"attributes"`
		} `json:"scope"`
		Spans     []otlpSpan `json:"spans"`
		SchemaURL string     `json:"schemaUrl"`
	}
	otlpSpan struct {
		TraceId                string         `json:"traceId"`
		SpanId                 string         `json:"spanId"`
		TraceState             string         `json:"traceState"`
		ParentSpanId           string         `json:"parentSpanId"`
		Flags                  uint32         `json:"flags"`
		Name                   string         `json:"name"`
		Kind                   int            `json:"kind"`
		StartTimeUnixNano      string         `json:"startTimeUnixNano"`
		EndTimeUnixNano        string         `json:"endTimeUnixNano"`
		Attributes             []otlpKeyValue `json:"attributes"`
		DroppedAttributesCount uint32         `json:"droppedAttributesCount"`
		Events                 []struct {
			TimeUnixNano           string         `json:"timeUnixNano"`
			Name                   string         `json:"name"`
			Attributes             []otlpKeyValue `json:"attributes"`
			DroppedAttributesCount uint32         `json:"droppedAttributesCount"`
		} `json:"events"`
		DroppedEventsCount uint32 `json:"droppedEventsCount"`
		Links              []struct {
			TraceId                string         `json:"traceId"`
			SpanId                 string         `json:"spanId"`
			TraceState             string         `json:"traceState"`
			Attributes             []otlpKeyValue `json:"attributes"`
			DroppedAttributesCount uint32         `json:"droppedAttributesCount"`
			Flags                  uint32         `json:"flags"`
		} `json:"links"`
		DroppedLinksCount uint32 `json:"droppedLinksCount"`
		Status            struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
		} `json:"status"`
	}
	otlpKeyValue struct {
		Key   string       `json:"key"`
		Value otlpAnyValue `json:"value"`
	}
	otlpAnyValue struct {
		StringValue string `json:"stringValue"`
		BoolValue   *bool  `json:"boolValue"`
		IntValue    string `json:"intValue"`
		DoubleValue any    `json:"doubleValue"`
		BytesValue  []byte `json:"bytesValue"`
		ArrayValue  *struct {
			Values []otlpAnyValue `json:"values"`
		} `json:"arrayValue"`
		KvlistValue *struct {
			Values []otlpKeyValue `json:"values"`
		} `json:"kvlistValue"`
	}
)

// decodeStrict decodes an OTLP/JSON request, refusing fields the mapping does not have.
func decodeStrict(b []byte) (*otlpRequest, error) {
	var req otlpRequest
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return &req, d.Decode(&req)
}

// sampleSpans are two spans of one trace: a client span carrying an attribute of every
// type, an event and a link, child of a remote parent; and an internal span of another
// scope, child of the first, with an error status.
func sampleSpans(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	ts, err := trace.ParseTraceState("vendor=a1")
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31}, TraceFlags: trace.FlagsSampled, Remote: true})
	client := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled, TraceState: ts})
	inner := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0, 1}, TraceFlags: trace.FlagsSampled})
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{0xff, 1}, SpanID: trace.SpanID{0xee, 2}, TraceFlags: trace.FlagsSampled})
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.43.0",
		attribute.String("service.name", "worker"), attribute.Int("pid", 42))
	start := time.Unix(1700000000, 123456789)
	stubs := tracetest.SpanStubs{
		{
			Name: "GET /{n}", SpanContext: client, Parent: parent, SpanKind: trace.SpanKindClient,
			StartTime: start, EndTime: start.Add(1500 * time.Microsecond),
			Attributes: []attribute.KeyValue{
				attribute.String("s", "quote\" backslash\\ nl\n tab\t ctl\x01 é \xff"),
				attribute.Bool("b", true),
				attribute.Int64("i", math.MinInt64),
				attribute.Float64("f", 0.25),
				attribute.Float64("nan", math.NaN()),
				attribute.Float64("inf", math.Inf(-1)),
				attribute.BoolSlice("bs", []bool{true, false}),
				attribute.Int64Slice("is", []int64{1, -2}),
				attribute.Float64Slice("fs", []float64{1.5, 1e21}),
				attribute.StringSlice("ss", []string{"a", "b"}),
			},
			DroppedAttributes: 3,
			Events: []sdktrace.Event{{Name: "retry", Time: start.Add(time.Millisecond),
				Attributes: []attribute.KeyValue{attribute.Int("attempt", 2)}, DroppedAttributeCount: 1}},
			DroppedEvents: 4,
			Links:         []sdktrace.Link{{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("why", "batch")}}},
			DroppedLinks:  5,
			Status:        sdktrace.Status{Code: codes.Ok},
			Resource:      res,
			InstrumentationScope: instrumentation.Scope{Name: "github.com/dockercoins/dockercoins/services/worker",
				Version: "1.2.3", SchemaURL: "https://opentelemetry.io/schemas/1.43.0"},
		},
		{
			Name: "hash", SpanContext: inner, Parent: client, SpanKind: trace.SpanKindInternal,
			StartTime: start, EndTime: start.Add(time.Millisecond),
			Status:               sdktrace.Status{Code: codes.Error, Description: "hasher answered 500"},
			Resource:             res,
			InstrumentationScope: instrumentation.Scope{Name: "inner"},
		},
	}
	return stubs.Snapshots()
}

// asData is spans as the encoders and the exporter take them.
func asData(spans ...sdktrace.ReadOnlySpan) []spanData {
	d := make([]spanData, len(spans))
	for i, s := range spans {
		d[i] = s
	}
	return d
}

// wantJSON is sampleSpans as the OTLP/JSON mapping writes them: IDs in lowercase hex,
// int64 values and nanosecond times as strings, kind and status code as numbers (OK is
// 1, ERROR is 2), zero values left out.
const wantJSON = `{"resourceSpans":[{
 "resource":{"attributes":[
  {"key":"pid","value":{"intValue":"42"}},
  {"key":"service.name","value":{"stringValue":"worker"}}]},
 "scopeSpans":[
  {"scope":{"name":"github.com/dockercoins/dockercoins/services/worker","version":"1.2.3"},
   "spans":[{
    "traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"0102030405060708","traceState":"vendor=a1",
    "parentSpanId":"b7ad6b7169203331","flags":769,"name":"GET /{n}","kind":3,
    "startTimeUnixNano":"1700000000123456789","endTimeUnixNano":"1700000000124956789",
    "attributes":[
     {"key":"s","value":{"stringValue":"quote\" backslash\\ nl\n tab\t ctl\u0001 é \ufffd"}},
     {"key":"b","value":{"boolValue":true}},
     {"key":"i","value":{"intValue":"-9223372036854775808"}},
     {"key":"f","value":{"doubleValue":0.25}},
     {"key":"nan","value":{"doubleValue":"NaN"}},
     {"key":"inf","value":{"doubleValue":"-Infinity"}},
     {"key":"bs","value":{"arrayValue":{"values":[{"boolValue":true},{"boolValue":false}]}}},
     {"key":"is","value":{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"-2"}]}}},
     {"key":"fs","value":{"arrayValue":{"values":[{"doubleValue":1.5},{"doubleValue":1e21}]}}},
     {"key":"ss","value":{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b"}]}}}],
    "droppedAttributesCount":3,
    "events":[{"timeUnixNano":"1700000000124456789","name":"retry",
     "attributes":[{"key":"attempt","value":{"intValue":"2"}}],"droppedAttributesCount":1}],
    "droppedEventsCount":4,
    "links":[{"traceId":"ff010000000000000000000000000000","spanId":"ee02000000000000",
     "attributes":[{"key":"why","value":{"stringValue":"batch"}}],"flags":257}],
    "droppedLinksCount":5,
    "status":{"code":1}}],
   "schemaUrl":"https://opentelemetry.io/schemas/1.43.0"},
  {"scope":{"name":"inner"},
   "spans":[{
    "traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"0a0b0c0d0e0f0001",
    "parentSpanId":"0102030405060708","flags":257,"name":"hash","kind":1,
    "startTimeUnixNano":"1700000000123456789","endTimeUnixNano":"1700000000124456789",
    "status":{"message":"hasher answered 500","code":2}}]}],
 "schemaUrl":"https://opentelemetry.io/schemas/1.43.0"}]}`

func TestSpanEncodingFollowsTheOTLPJSONMapping(t *testing.T) {
	var enc spanEncoder
	got := enc.encodeJSON(nil, asData(sampleSpans(t)...))
	var gotV, wantV any
	if err := json.Unmarshal(got, &gotV); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(wantJSON), &wantV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		g, _ := json.MarshalIndent(gotV, "", " ")
		t.Errorf("encoded:\n%s\nwant:\n%s", g, wantJSON)
	}
	if _, err := decodeStrict(got); err != nil {
		t.Errorf("a strict decoder refuses the request: %v", err)
	}
	// The encoder's buffers are reused: a second batch encodes the same.
	again := enc.encodeJSON(nil, asData(sampleSpans(t)...))
	if !bytes.Equal(got, again) {
		t.Errorf("second encoding differs:\n%s\n%s", got, again)
	}
}

func TestSpanEncodingGroupsByResourceAndScope(t *testing.T) {
	spans := sampleSpans(t)
	other := tracetest.SpanStubFromReadOnlySpan(spans[1])
	other.Resource = resource.NewSchemaless(attribute.String("service.name", "rng"))
	// worker/inner, rng/inner, worker/inner again: two resources, the first with two
	// spans under one scope.
	batch := asData(spans[1], other.Snapshot(), spans[1])
	var enc spanEncoder
	req, err := decodeStrict(enc.encodeJSON(nil, batch))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			got = append(got, rs.Resource.Attributes[len(rs.Resource.Attributes)-1].Value.StringValue+"/"+ss.Scope.Name+"/"+strings.Repeat("s", len(ss.Spans)))
		}
	}
	if want := []string{"worker/inner/ss", "rng/inner/s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
}

func TestJSONStringEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"":                 `""`,
		"plain":            `"plain"`,
		"a\"b\\c":          `"a\"b\\c"`,
		"\r\n\t\x00\x1f":   `"\r\n\t\u0000\u001f"`,
		"日本😀":              `"日本😀"`,
		"bad\xc3(\xff end": `"bad\ufffd(\ufffd end"`,
		"</script>":        `"</script>"`,
	} {
		got := string(appendJSONString(nil, in))
		if got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil || (utf8.ValidString(in) && back != in) {
			t.Errorf("%q: %s reads back as %q, %v", in, got, back, err)
		}
	}
}
