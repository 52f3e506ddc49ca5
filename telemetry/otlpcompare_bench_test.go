package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
)

// BenchmarkExportProtobuf100 is the exporter the JSON one replaced, for comparison.
func BenchmarkExportProtobuf100(b *testing.B) {
	srv := discardingCollector(b)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	if err != nil {
		b.Fatal(err)
	}
	benchExport(b, exp)
}
