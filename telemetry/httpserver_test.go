package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// TestServerSpansCarryTheirOwnAttributes checks a sampled server span's name and
// attributes, request after request: the attribute lists are reused between requests,
// so a failed request's error.type must not reach the next one, nor one route's path
// another's.
func TestServerSpansCarryTheirOwnAttributes(t *testing.T) {
	exp := &recordingExporter{}
	p, _ := newTestTracing(t, exp, 16, 8, time.Hour)
	tracer := p.Tracer("test")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{n}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	})
	h := instrument(metricnoop.NewMeterProvider().Meter("test"), tracer, mux)
	for _, r := range []struct{ method, path string }{{"POST", "/"}, {"GET", "/32"}, {"POST", "/"}, {"GET", "/7"}} {
		req := httptest.NewRequest(r.method, r.path, nil)
		req.Host, req.RemoteAddr = "rng:8001", "10.0.0.9:50000"
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	want := []struct {
		name   string
		attrs  map[string]any
		failed bool
	}{
		{"POST /{$}", map[string]any{"http.request.method": "POST", "http.route": "/{$}", "url.path": "/", "http.response.status_code": int64(500), "error.type": "500"}, true},
		{"GET /{n}", map[string]any{"http.request.method": "GET", "http.route": "/{n}", "url.path": "/32", "http.response.status_code": int64(200)}, false},
		{"POST /{$}", map[string]any{"http.request.method": "POST", "http.route": "/{$}", "url.path": "/", "http.response.status_code": int64(500), "error.type": "500"}, true},
		{"GET /{n}", map[string]any{"http.request.method": "GET", "http.route": "/{n}", "url.path": "/7", "http.response.status_code": int64(200)}, false},
	}
	p.Shutdown(context.Background())
	spans, _ := exp.got()
	if len(spans) != len(want) {
		t.Fatalf("%d spans, want %d", len(spans), len(want))
	}
	for i, s := range spans {
		w := want[i]
		w.attrs["url.scheme"] = "http"
		got := attrMap(s.Attributes())
		if s.Name() != w.name || !reflect.DeepEqual(got, w.attrs) {
			t.Errorf("span %d: %s %v, want %s %v", i, s.Name(), got, w.name, w.attrs)
		}
		if failed := s.Status().Code == codes.Error; failed != w.failed {
			t.Errorf("span %d: status %v", i, s.Status())
		}
	}
}
