package jaeger

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTracesSendsTheQueryAsJaegerReadsIt(t *testing.T) {
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		w.Write([]byte(`{"data":[{"traceID":"ab","spans":[{"traceID":"ab","spanID":"01","operationName":"loop","references":[],"startTime":1700000000000000,"duration":1500,"tags":[{"key":"error","type":"bool","value":true}],"processID":"p1"}],"processes":{"p1":{"serviceName":"worker"}}}],"errors":null}`))
	}))
	defer srv.Close()
	start := time.UnixMicro(1700000000000000)
	traces, err := (&Client{URL: srv.URL + "/"}).Traces(context.Background(), Query{
		Service: "worker", Operation: "loop", Start: start, End: start.Add(time.Minute), Limit: 7,
		MinDuration: 250 * time.Millisecond, Tags: map[string]string{"worker.batch_seq": "3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"service": {"worker"}, "operation": {"loop"}, "start": {"1700000000000000"}, "end": {"1700000060000000"},
		"limit": {"7"}, "minDuration": {"250ms"}, "tags": {`{"worker.batch_seq":"3"}`}}
	for k := range want {
		if got.Get(k) != want.Get(k) {
			t.Errorf("%s=%q, want %q", k, got.Get(k), want.Get(k))
		}
	}
	s := traces[0].Spans[0]
	if len(traces) != 1 || traces[0].Service(s) != "worker" || s.Dur() != 1500*time.Microsecond || !s.Failed() || s.Parent() != "" {
		t.Fatalf("decoded %+v", traces)
	}
}

func TestQueryErrorsAreReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"data": nil, "errors": []map[string]any{{"code": 400, "msg": "parameter 'service' is required"}}})
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL}
	if _, err := c.Services(context.Background()); err == nil || !strings.Contains(err.Error(), "parameter 'service' is required") {
		t.Errorf("error %v", err)
	}
	if _, err := c.Traces(context.Background(), Query{}); err == nil {
		t.Error("a query without a service was sent")
	}
	srv.Close()
	if _, err := c.Services(context.Background()); err == nil || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("error %v does not name the Jaeger it could not reach", err)
	}
}

func TestSearchURL(t *testing.T) {
	got := SearchURL("http://localhost:16686/", Query{Service: "worker", Operation: "loop", MinDuration: 812345 * time.Microsecond, Limit: 20}, 15*time.Minute)
	want := "http://localhost:16686/search?limit=20&lookback=15m&minDuration=812ms&operation=loop&service=worker"
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	for d, want := range map[time.Duration]string{time.Minute: "1m", 2 * time.Hour: "2h", 48 * time.Hour: "2d", 90 * time.Second: "2m", time.Second: "1m"} {
		if got := lookbackParam(d); got != want {
			t.Errorf("lookback %v = %s, want %s", d, got, want)
		}
	}
}
