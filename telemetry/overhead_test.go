package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// benchRequests measures one traced call through the whole HTTP stack: the caller's
// span passed on in traceparent, a server span and one span inside, like a worker's
// call to rng.
func benchRequests(b *testing.B, env map[string]string) {
	tel, err := Start(context.Background(), parse(b, "rng", env), quiet())
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{n}", func(w http.ResponseWriter, r *http.Request) {
		_, span := otel.Tracer("bench").Start(r.Context(), "inner")
		span.End()
		io.WriteString(w, "0123456789abcdef0123456789abcdef")
	})
	srv := httptest.NewServer(tel.Handler(mux))
	defer srv.Close()
	client := &http.Client{Transport: http.DefaultTransport}
	tracer := otel.Tracer("bench")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx, span := tracer.Start(context.Background(), "loop")
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/32", nil)
		otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		span.End()
	}
}

func BenchmarkRequestTracingOff(b *testing.B) { benchRequests(b, nil) }

func BenchmarkRequestTracingOn(b *testing.B) {
	col := newCollector(b)
	benchRequests(b, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.srv.URL, "OTEL_TRACES_SAMPLER": "always_on"})
}

func BenchmarkRequestTracingUnsampled(b *testing.B) {
	col := newCollector(b)
	benchRequests(b, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.srv.URL, "OTEL_TRACES_SAMPLER": "always_off"})
}

func BenchmarkRequestBare(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{n}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "0123456789abcdef0123456789abcdef")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Transport: http.DefaultTransport}
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", srv.URL+"/32", nil)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
