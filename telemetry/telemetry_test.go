package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/internal/settings"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// parse registers the telemetry settings of service and reads them from env.
func parse(t testing.TB, service string, env map[string]string) Settings {
	t.Helper()
	var c Settings
	s := settings.New(service, io.Discard)
	c.Register(s, service)
	if err := s.Parse(nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	return c
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// collector is an OTLP/HTTP receiver, of protobuf or JSON requests, that keeps what it
// is sent.
type collector struct {
	mu     sync.Mutex
	reqs   []*otlpRequest
	header http.Header // of the last request
	srv    *httptest.Server
}

func newCollector(t testing.TB) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" {
			http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, err := decodeRequest(r.Header.Get("Content-Type"), body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.reqs = append(c.reqs, req)
		c.header = r.Header.Clone()
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// spans returns "service/span" for every span received, and the resource attributes
// of the last batch.
func (c *collector) spans() (names []string, resource map[string]string, spans map[string]spanInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resource, spans = map[string]string{}, map[string]spanInfo{}
	for _, req := range c.reqs {
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.Resource.Attributes {
				resource[kv.Key] = kv.Value.StringValue
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
					spans[s.Name] = spanInfo{trace: s.TraceId, parent: s.ParentSpanId}
				}
			}
		}
	}
	return names, resource, spans
}

type spanInfo struct{ trace, parent string }

func TestNoEndpointMeansNoTracingButMetrics(t *testing.T) {
	tel, err := Start(context.Background(), parse(t, "rng", nil), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	if tel.Tracing() {
		t.Fatal("tracing on without an endpoint")
	}
	h := tel.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Trace context from a caller still passes through, for logs and onward calls.
		io.WriteString(w, trace.SpanContextFromContext(r.Context()).TraceID().String())
	}))
	req := httptest.NewRequest("GET", "/32", nil)
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got := rec.Body.String(); got != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("handler saw trace %q, want the caller's", got)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{"http_server_request_duration_seconds_count{", `service_name="rng"`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "telemetry_spans_total") {
		t.Error("span counts published with tracing off")
	}
}

func TestSpansReachTheCollectorWithTheResource(t *testing.T) {
	col := newCollector(t)
	c := parse(t, "rng", map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": col.srv.URL,
		"OTEL_RESOURCE_ATTRIBUTES":    "deployment.environment=lab,team=coins%20and%20more,service.name=ignored",
		"OTEL_SERVICE_NAME":           "rng-blue",
		"NOMAD_ALLOC_ID":              "a1b2c3",
		"OTEL_BSP_SCHEDULE_DELAY":     "50",
		"OTEL_EXPORTER_OTLP_HEADERS":  "X-Scope-OrgID=coins,Authorization=Bearer%20t0ken",
	})
	tel, err := Start(context.Background(), c, quiet())
	if err != nil {
		t.Fatal(err)
	}
	h := tel.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, span := otel.Tracer("test").Start(r.Context(), "inner")
		span.End()
	}))
	req := httptest.NewRequest("GET", "/32", nil)
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	names, res, spans := col.spans()
	if len(names) != 2 {
		t.Fatalf("collector got spans %v, want a server span and inner", names)
	}
	for k, want := range map[string]string{
		"service.name": "rng-blue", "service.instance.id": "a1b2c3", "deployment.environment": "lab", "team": "coins and more",
	} {
		if res[k] != want {
			t.Errorf("resource %s = %q, want %q", k, res[k], want)
		}
	}
	if res["host.name"] == "" {
		t.Error("resource without host.name")
	}
	// Jaeger keeps a copy of the resource with every trace: nothing beyond what is given
	// and the three computed attributes.
	if len(res) != 5 {
		t.Errorf("resource %v: %d attributes, want 5", res, len(res))
	}
	col.mu.Lock()
	if h := col.header; h.Get("X-Scope-OrgID") != "coins" || h.Get("Authorization") != "Bearer t0ken" {
		t.Errorf("export headers %v, want those of OTEL_EXPORTER_OTLP_HEADERS", h)
	}
	col.mu.Unlock()
	server, ok := spans["GET"]
	if !ok {
		t.Fatalf("no server span among %v", names)
	}
	if server.trace != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("server span in trace %s, not the caller's", server.trace)
	}
	if server.parent != "b7ad6b7169203331" {
		t.Errorf("server span's parent %s, not the caller's span", server.parent)
	}
}

func TestAHungCollectorBlocksNothing(t *testing.T) {
	// A collector that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	var logged bytes.Buffer
	c := parse(t, "hasher", map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":    "http://" + ln.Addr().String(),
		"OTEL_BSP_SCHEDULE_DELAY":        "10",
		"OTEL_BSP_MAX_QUEUE_SIZE":        "64",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "16",
	})
	tel, err := Start(context.Background(), c, slog.New(slog.NewJSONHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := tel.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	// Far more spans than the queue holds: each must still end at once.
	const requests = 1000
	for range requests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("request answered %d", rec.Code)
		}
	}
	if got := tel.counts.ended.Load(); got != requests {
		t.Fatalf("%d spans ended, want %d", got, requests)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `telemetry_spans_total{otel_scope_name="`+ScopeName+`",otel_scope_schema_url="",otel_scope_version="",state="ended"} 1000`) {
		t.Errorf("/metrics does not count the 1000 ended spans:\n%s", grep(rec.Body.String(), "telemetry_spans"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	tel.Shutdown(ctx) // gives up when ctx ends: the collector never answers
	var ev map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		if json.Unmarshal([]byte(line), &ev) == nil && ev["msg"] == "tracing stopped" {
			if ev["exported"].(float64) != 0 || ev["dropped"].(float64) != requests {
				t.Errorf("stop summary %v, want all %d spans dropped", ev, requests)
			}
			return
		}
	}
	t.Errorf("no stop summary in the log:\n%s", logged.String())
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestBadSettingsAreClearErrors(t *testing.T) {
	for env, want := range map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=localhost:4318":           "want an http or https URL",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=ftp://x/v1/traces": "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_TRACES_SAMPLER=sometimes":                        "OTEL_TRACES_SAMPLER=\"sometimes\"",
		"OTEL_TRACES_SAMPLER_ARG=2":                            "want a ratio from 0 to 1",
		"OTEL_RESOURCE_ATTRIBUTES=novalue":                     "want key=value",
		"OTEL_RESOURCE_ATTRIBUTES=k=%zz":                       "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE=100000":                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
		"OTEL_BSP_SCHEDULE_DELAY=0":                            "OTEL_BSP_SCHEDULE_DELAY",
		"OTEL_EXPORTER_OTLP_HEADERS=a=1,s3cret":                "OTEL_EXPORTER_OTLP_HEADERS: entry 2: want key=value",
		"OTEL_EXPORTER_OTLP_HEADERS=bad name=x":                `"bad name" is not a valid HTTP header name`,
		"OTEL_EXPORTER_OTLP_HEADERS=Token=s3cret%0A":           "the value of Token has control characters",
		"OTEL_EXPORTER_OTLP_HEADERS=Token=s3cret%zz":           "entry 1: the value is not percent-encoded right",
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc":                     "grpc is not supported",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/xml":          `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/xml": want http/protobuf or http/json`,
	} {
		k, v, _ := strings.Cut(env, "=")
		m := map[string]string{k: v}
		if strings.HasPrefix(k, "OTEL_TRACES_SAMPLER_ARG") {
			m["OTEL_TRACES_SAMPLER"] = "traceidratio"
		}
		_, err := Start(context.Background(), parse(t, "worker", m), quiet())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", env, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows a header's value: %v", env, err)
		}
	}
}

// TestExportProtocols sends a span in each protocol the variables can ask for: protobuf
// unless told otherwise, the traces variable winning over the general one.
func TestExportProtocols(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "application/x-protobuf"},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "application/json"},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "application/x-protobuf"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, "application/json"},
	} {
		col := newCollector(t)
		env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.srv.URL}
		maps.Copy(env, tc.env)
		tel, err := Start(context.Background(), parse(t, "rng", env), quiet())
		if err != nil {
			t.Fatal(err)
		}
		_, span := otel.Tracer("test").Start(context.Background(), "one")
		span.End()
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if names, _, _ := col.spans(); len(names) != 1 || col.header.Get("Content-Type") != tc.want {
			t.Errorf("%v: collector got %v in %q, want one span in %s", tc.env, names, col.header.Get("Content-Type"), tc.want)
		}
	}
}

func TestTracesURL(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}, "http://jaeger:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c.example/otlp/"}, "https://c.example/otlp/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"}, "http://b:4318/custom"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "true"}, ""},
	} {
		c := parse(t, "worker", tc.env)
		got, err := c.TracesURL()
		if err != nil || got != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
}

func TestSamplers(t *testing.T) {
	for name, want := range map[string]string{
		"":                         "ParentBased{root:AlwaysOnSampler",
		"always_on":                "AlwaysOnSampler",
		"always_off":               "AlwaysOffSampler",
		"traceidratio":             "TraceIDRatioBased{1}",
		"parentbased_always_off":   "ParentBased{root:AlwaysOffSampler",
		"parentbased_traceidratio": "ParentBased{root:TraceIDRatioBased{0.25}",
	} {
		arg := ""
		if name == "parentbased_traceidratio" {
			arg = "0.25"
		}
		s, err := sampler(name, arg)
		if err != nil || !strings.HasPrefix(s.Description(), want) {
			t.Errorf("%q: %v, %v; want %s", name, s, err, want)
		}
	}
}

func TestSDKDisabledSkipsInstrumentation(t *testing.T) {
	col := newCollector(t)
	tel, err := Start(context.Background(), parse(t, "hasher", map[string]string{
		"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": col.srv.URL,
	}), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer Start(context.Background(), parse(t, "hasher", nil), quiet()) // others see it on again
	if !Disabled() || tel.Tracing() {
		t.Fatalf("disabled %v, tracing %v", Disabled(), tel.Tracing())
	}
	h := tel.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body := rec.Body.String(); strings.Contains(body, "http_server") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics with telemetry disabled:\n%s", grep(body, "_"))
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if names, _, _ := col.spans(); len(names) != 0 {
		t.Errorf("spans sent while disabled: %v", names)
	}
}
