package telemetry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// counts reads a duration histogram's request counts by attribute set.
func counts(t *testing.T, r *sdkmetric.ManualReader, name string) map[attribute.Distinct]uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[attribute.Distinct]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				got[p.Attributes.Equivalent()] += p.Count
			}
		}
	}
	return got
}

func TestServerMetricsCountPerRouteAndStatus(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{n}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("n") == "bad" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		w.Write([]byte("ok"))
	})
	h := instrument(meter, nil, mux)
	for _, path := range []string{"/1", "/2", "/bad"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://svc:8001"+path, nil))
	}
	set := func(status int) attribute.Distinct {
		s := attribute.NewSet(
			attribute.String("http.request.method", "GET"), attribute.String("url.scheme", "http"),
			attribute.String("network.protocol.name", "http"), attribute.String("network.protocol.version", "1.1"),
			attribute.String("server.address", "svc"), attribute.Int("server.port", 8001),
			attribute.Int("http.response.status_code", status), attribute.String("http.route", "/{n}"),
		)
		return s.Equivalent()
	}
	got := counts(t, reader, "http.server.request.duration")
	if got[set(200)] != 2 || got[set(400)] != 1 || len(got) != 2 {
		t.Errorf("requests by attribute set: %v; want 2 answered 200 and 1 answered 400 on route /{n}", got)
	}
}

func TestClientMetricsCountAnswersAndFailures(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	c := &ClientMetrics{newRequestDurations(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"),
		"http.client.request.duration", "test")}
	req := httptest.NewRequest(http.MethodPost, "http://hasher:8002/", nil)
	c.Record(req, &http.Response{StatusCode: 200}, nil, time.Millisecond)
	c.Record(req, &http.Response{StatusCode: 200}, nil, time.Millisecond)
	c.Record(req, nil, errors.New("refused"), time.Millisecond)
	var total uint64
	got := counts(t, reader, "http.client.request.duration")
	for _, n := range got {
		total += n
	}
	if total != 3 || len(got) != 2 {
		t.Errorf("requests by attribute set: %v; want 3 in 2 sets (answered, failed)", got)
	}
}
