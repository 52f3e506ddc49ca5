package telemetry

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// decodeProto reads a protobuf request with OpenTelemetry's generated code (as
// TracesData, whose one field is the request's), then writes
// it in the OTLP/JSON mapping and reads that strictly, so it compares field for field
// with what the JSON writer makes. Protobuf's JSON mapping writes bytes in base64, OTLP's
// in hex: the IDs are turned back to hex.
func decodeProto(b []byte) (*otlpRequest, error) {
	var m tracepb.TracesData
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	j, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(&m)
	if err != nil {
		return nil, err
	}
	req, err := decodeStrict(j)
	if err != nil {
		return nil, err
	}
	hexID := func(s *string) {
		if raw, err := base64.StdEncoding.DecodeString(*s); err == nil {
			*s = hex.EncodeToString(raw)
		}
	}
	for i := range req.ResourceSpans {
		for j := range req.ResourceSpans[i].ScopeSpans {
			for k := range req.ResourceSpans[i].ScopeSpans[j].Spans {
				s := &req.ResourceSpans[i].ScopeSpans[j].Spans[k]
				hexID(&s.TraceId)
				hexID(&s.SpanId)
				hexID(&s.ParentSpanId)
				for l := range s.Links {
					hexID(&s.Links[l].TraceId)
					hexID(&s.Links[l].SpanId)
				}
			}
		}
	}
	return req, nil
}

// decodeRequest reads a request in the encoding its Content-Type names, as a collector
// does; an unknown Content-Type is an error.
func decodeRequest(contentType string, body []byte) (*otlpRequest, error) {
	switch contentType {
	case "application/x-protobuf":
		return decodeProto(body)
	case "application/json":
		return decodeStrict(body)
	}
	return nil, fmt.Errorf("Content-Type %q is not an OTLP encoding", contentType)
}

func TestProtobufEncodingCarriesWhatJSONDoes(t *testing.T) {
	var enc spanEncoder
	fromJSON, err := decodeStrict(enc.encodeJSON(nil, asData(sampleSpans(t)...)))
	if err != nil {
		t.Fatal(err)
	}
	pb := enc.encodeProto(nil, asData(sampleSpans(t)...))
	fromProto, err := decodeProto(pb)
	if err != nil {
		t.Fatalf("OpenTelemetry's protobuf code cannot read the request: %v", err)
	}
	if !reflect.DeepEqual(fromProto, fromJSON) {
		g, _ := json.MarshalIndent(fromProto, "", " ")
		w, _ := json.MarshalIndent(fromJSON, "", " ")
		t.Errorf("protobuf reads as:\n%s\nJSON as:\n%s", g, w)
	}
	// The encoder's buffers are reused: a second batch encodes the same.
	if again := enc.encodeProto(nil, asData(sampleSpans(t)...)); !bytes.Equal(pb, again) {
		t.Error("second protobuf encoding differs")
	}
}

// TestProtobufLengthsOfEverySize checks the lengths that take more than the one byte
// kept for them: a message of 127 bytes keeps it, of 128 or 16,384 moves its body along,
// inside messages that move theirs in turn.
func TestProtobufLengthsOfEverySize(t *testing.T) {
	spans := sampleSpans(t)
	for _, n := range []int{0, 1, 100, 127, 128, 129, 300, 16383, 16384, 70000} {
		stub := tracetest.SpanStubFromReadOnlySpan(spans[1])
		stub.Attributes = []attribute.KeyValue{attribute.String("v", strings.Repeat("x", n))}
		var enc spanEncoder
		req, err := decodeProto(enc.encodeProto(nil, asData(stub.Snapshot())))
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		got := req.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes[0].Value.StringValue
		if len(got) != n {
			t.Errorf("%d bytes: read back %d", n, len(got))
		}
	}
}

func TestProtobufStringsAreUTF8(t *testing.T) {
	stub := tracetest.SpanStubFromReadOnlySpan(sampleSpans(t)[1])
	stub.Name = "bad\xc3( name"
	stub.Attributes = []attribute.KeyValue{attribute.String("k", "bad\xff value")}
	var enc spanEncoder
	req, err := decodeProto(enc.encodeProto(nil, asData(stub.Snapshot())))
	if err != nil {
		t.Fatalf("a stray byte voids the batch: %v", err)
	}
	s := req.ResourceSpans[0].ScopeSpans[0].Spans[0]
	if s.Name != "bad\uFFFD( name" || s.Attributes[0].Value.StringValue != "bad\uFFFD value" {
		t.Errorf("name %q, attribute %q", s.Name, s.Attributes[0].Value.StringValue)
	}
}

func TestPartialSuccessInProtobuf(t *testing.T) {
	// ExportTraceServiceResponse{partial_success: {rejected_spans: 3, error_message: "too old"}}
	answer := []byte{0x0a, 0x0b, 0x08, 0x03, 0x12, 0x07, 't', 'o', 'o', ' ', 'o', 'l', 'd'}
	err := partialSuccess("application/x-protobuf", answer)
	if err == nil || err.Error() != "collector rejected 3 spans: too old" {
		t.Errorf("partial success read as %v", err)
	}
	if err := partialSuccess("application/x-protobuf", nil); err != nil {
		t.Errorf("empty answer: %v", err)
	}
	if err := partialSuccess("application/x-protobuf", []byte{0x0a, 0x05, 0x08}); err != nil {
		t.Errorf("a truncated answer is not a rejection: %v", err)
	}
}
