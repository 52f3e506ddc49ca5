package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// benchBatch is 100 spans like a service's: server spans with the HTTP attributes the
// handler sets, one in ten with an error status and an event.
func benchBatch() []spanData {
	res := resource.NewSchemaless(attribute.String("service.name", "rng"), attribute.String("service.instance.id", "vm-1234"),
		attribute.String("host.name", "vm"))
	scope := instrumentation.Scope{Name: ScopeName}
	start := time.Now()
	stubs := make(tracetest.SpanStubs, 100)
	for i := range stubs {
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{byte(i), 1, 2, 3}, SpanID: trace.SpanID{byte(i), 9}, TraceFlags: trace.FlagsSampled})
		parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: sc.TraceID(), SpanID: trace.SpanID{byte(i), 8}, TraceFlags: trace.FlagsSampled, Remote: true})
		s := tracetest.SpanStub{
			Name: "GET /{n}", SpanContext: sc, Parent: parent, SpanKind: trace.SpanKindServer,
			StartTime: start, EndTime: start.Add(time.Duration(i) * time.Millisecond),
			Attributes: []attribute.KeyValue{
				attribute.String("http.request.method", "GET"), attribute.String("url.path", "/32"),
				attribute.String("url.scheme", "http"), attribute.Int("http.response.status_code", 200),
				attribute.String("http.route", "/{n}"),
			},
			Resource: res, InstrumentationScope: scope,
		}
		if i%10 == 0 {
			s.Status = sdktrace.Status{Code: codes.Error, Description: "Internal Server Error"}
			s.Events = []sdktrace.Event{{Name: "exception", Time: start, Attributes: []attribute.KeyValue{attribute.String("exception.message", "boom")}}}
		}
		stubs[i] = s
	}
	return asData(stubs.Snapshots()...)
}

// discardingCollector answers every export with an empty success.
func discardingCollector(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchExport measures one export of a 100-span batch, to a collector on loopback.
func benchExport(b *testing.B, exp spanExporter) {
	spans := benchBatch()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := exp.ExportSpans(ctx, spans); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	exp.Shutdown(ctx)
}

func BenchmarkExportProtobuf100(b *testing.B) {
	srv := discardingCollector(b)
	benchExport(b, newExporter(srv.URL+"/v1/traces", ProtocolProtobuf, nil))
}

func BenchmarkExportJSON100(b *testing.B) {
	srv := discardingCollector(b)
	benchExport(b, newExporter(srv.URL+"/v1/traces", ProtocolJSON, nil))
}

// BenchmarkEncodeProtobuf100 and BenchmarkEncodeJSON100 are the encodings alone.
func BenchmarkEncodeProtobuf100(b *testing.B) {
	benchEncode(b, (*spanEncoder).encodeProto)
}

func BenchmarkEncodeJSON100(b *testing.B) {
	benchEncode(b, (*spanEncoder).encodeJSON)
}

func benchEncode(b *testing.B, encode encodeFunc) {
	spans := benchBatch()
	var enc spanEncoder
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = encode(&enc, buf[:0], spans)
	}
	b.SetBytes(int64(len(buf)))
}
