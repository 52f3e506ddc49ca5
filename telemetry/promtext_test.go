package telemetry

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// scrape serves one scrape of h and returns its body.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != promContentType {
		t.Fatalf("scrape answered %d, %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	return rec.Body.String()
}

// otelOnly is the part of a scrape after the runtime's and the process's metrics.
func otelOnly(body string) string {
	var keep []string
	skip := false
	for _, l := range strings.SplitAfter(body, "\n") {
		if strings.HasPrefix(l, "# HELP ") {
			name := strings.Fields(l)[2]
			skip = strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")
		}
		if !skip {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

func TestPrometheusTextOfEveryKind(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "svc"), attribute.String("host.name", "h\"1"))))
	ctx := context.Background()
	m := mp.Meter("test", metric.WithInstrumentationVersion("v1"))
	escaped := metric.WithAttributes(attribute.String("path", "a\"b\\c\nd"))

	c, _ := m.Int64Counter("requests", metric.WithUnit("{request}"), metric.WithDescription("Requests served.\nA \\ backslash."))
	c.Add(ctx, 3, metric.WithAttributes(attribute.Int("code", 200)))
	c.Add(ctx, 1, metric.WithAttributes(attribute.Int("code", 500)))
	c.Add(ctx, 2, escaped)
	fc, _ := m.Float64Counter("energy.total", metric.WithUnit("J"), metric.WithDescription("Energy."))
	fc.Add(ctx, 1.5)
	ud, _ := m.Int64UpDownCounter("queue.depth", metric.WithDescription("Queued."))
	ud.Add(ctx, 5)
	ud.Add(ctx, -7)
	fud, _ := m.Float64UpDownCounter("balance", metric.WithUnit("By"), metric.WithDescription("Balance."))
	fud.Add(ctx, 1e21)
	g, _ := m.Int64Gauge("temperature", metric.WithUnit("Cel"), metric.WithDescription("Temperature."))
	g.Record(ctx, -3)
	fg, _ := m.Float64Gauge("usage", metric.WithUnit("1"), metric.WithDescription("Usage."))
	fg.Record(ctx, 0.25)
	h, _ := m.Int64Histogram("size", metric.WithUnit("By"), metric.WithDescription("Sizes."), metric.WithExplicitBucketBoundaries(10, 100))
	for _, v := range []int64{5, 50, 500, 50} {
		h.Record(ctx, v)
	}
	fh, _ := m.Float64Histogram("latency", metric.WithUnit("ms"), metric.WithDescription("Latency."), metric.WithExplicitBucketBoundaries(0.5, 1))
	fh.Record(ctx, 0.75, metric.WithAttributes(attribute.String("op", "b")))
	fh.Record(ctx, 0.25, metric.WithAttributes(attribute.String("op", "a")))
	fh.Record(ctx, math.Inf(1), metric.WithAttributes(attribute.String("op", "a")))
	// Keys that become the same label are joined, values sorted; a leading digit gets key_.
	merged, _ := m.Int64Counter("merged")
	merged.Add(ctx, 1, metric.WithAttributes(attribute.String("a.b", "y"), attribute.String("a_b", "x"), attribute.Bool("1st", true)))
	// Of two scopes' instruments of different types under one name, the counter keeps it
	// (typeRank), whichever scope the reader hands over first.
	clash, _ := mp.Meter("other").Float64Gauge("requests_total")
	clash.Record(ctx, 1)

	got := otelOnly(scrape(t, newPromHandler(reader)))
	scope := `otel_scope_name="test",otel_scope_schema_url="",otel_scope_version="v1"`
	want := `# HELP balance_bytes Balance.
# TYPE balance_bytes gauge
balance_bytes{` + scope + `} 1e+21
# HELP energy_joules_total Energy.
# TYPE energy_joules_total counter
energy_joules_total{` + scope + `} 1.5
# HELP latency_milliseconds Latency.
# TYPE latency_milliseconds histogram
latency_milliseconds_bucket{op="a",` + scope + `,le="0.5"} 1
latency_milliseconds_bucket{op="a",` + scope + `,le="1"} 1
latency_milliseconds_bucket{op="a",` + scope + `,le="+Inf"} 2
latency_milliseconds_sum{op="a",` + scope + `} +Inf
latency_milliseconds_count{op="a",` + scope + `} 2
latency_milliseconds_bucket{op="b",` + scope + `,le="0.5"} 0
latency_milliseconds_bucket{op="b",` + scope + `,le="1"} 1
latency_milliseconds_bucket{op="b",` + scope + `,le="+Inf"} 1
latency_milliseconds_sum{op="b",` + scope + `} 0.75
latency_milliseconds_count{op="b",` + scope + `} 1
# HELP merged_total 
# TYPE merged_total counter
merged_total{a_b="x;y",key_1st="true",` + scope + `} 1
# HELP queue_depth Queued.
# TYPE queue_depth gauge
queue_depth{` + scope + `} -2
# HELP requests_total Requests served.\nA \\ backslash.
# TYPE requests_total counter
requests_total{code="200",` + scope + `} 3
requests_total{code="500",` + scope + `} 1
requests_total{` + scope + `,path="a\"b\\c\nd"} 2
# HELP size_bytes Sizes.
# TYPE size_bytes histogram
size_bytes_bucket{` + scope + `,le="10"} 1
size_bytes_bucket{` + scope + `,le="100"} 3
size_bytes_bucket{` + scope + `,le="+Inf"} 4
size_bytes_sum{` + scope + `} 605
size_bytes_count{` + scope + `} 4
# HELP target_info Target metadata
# TYPE target_info gauge
target_info{host_name="h\"1",service_name="svc"} 1
# HELP temperature_celsius Temperature.
# TYPE temperature_celsius gauge
temperature_celsius{` + scope + `} -3
# HELP usage_ratio Usage.
# TYPE usage_ratio gauge
usage_ratio{` + scope + `} 0.25
`
	if got != want {
		t.Errorf("scrape:\n%s\nwant:\n%s", got, want)
	}
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		name, unit string
		kind       nameKind
		want       string
	}{
		{"http.server.request.duration", "s", nameOther, "http_server_request_duration_seconds"},
		{"telemetry.spans", "{span}", nameCounter, "telemetry_spans_total"},
		{"worker.loops", "{loop}", nameCounter, "worker_loops_total"},
		{"db.client.connections.waits_duration", "ns", nameGauge, "db_client_connections_waits_duration_nanoseconds"},
		{"db.client.connections.create_time", "ms", nameOther, "db_client_connections_create_time_milliseconds"},
		{"requests.total", "", nameCounter, "requests_total"},
		{"total.requests", "", nameCounter, "requests_total"},
		{"seconds.spent", "s", nameCounter, "seconds_spent_total"},
		{"throughput", "By/s", nameGauge, "throughput_bytes_per_second"},
		{"cpu.ratio", "1", nameGauge, "cpu_ratio"},
		{"cpu", "1", nameOther, "cpu"},
		{"9lives", "", nameGauge, "_9lives"},
		{"weird--name__x", "%", nameGauge, "weird_name_x_percent"},
		{"odd", "m{x}/s", nameGauge, "odd_per_second"},
	} {
		got, err := metricName(tc.name, tc.unit, tc.kind)
		if err != nil || got != tc.want {
			t.Errorf("%s [%s]: %q, %v; want %q", tc.name, tc.unit, got, err, tc.want)
		}
	}
	if _, err := metricName("...", "", nameGauge); err == nil {
		t.Error("a name of dots was accepted")
	}
	for key, want := range map[string]string{
		"http.route": "http_route", "a..b": "a_b", "1x": "key_1x", "__meta__": "__meta__", "Ünï": "_n_",
	} {
		if got, err := labelName(key); err != nil || got != want {
			t.Errorf("label %q: %q, %v; want %q", key, got, err, want)
		}
	}
	for _, bad := range []string{"", "_", "..."} {
		if got, err := labelName(bad); err == nil {
			t.Errorf("label %q became %q", bad, got)
		}
	}
}

func TestRuntimeAndProcessMetrics(t *testing.T) {
	body := scrape(t, newPromHandler(nil))
	types := map[string]string{}
	values := map[string]float64{}
	for _, l := range strings.Split(body, "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[1] == "TYPE" {
			types[f[2]] = f[3]
		} else if len(f) == 2 && !strings.HasPrefix(l, "#") {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Errorf("%q: %v", l, err)
			}
			values[f[0]] = v
		}
	}
	for name, typ := range map[string]string{
		"go_goroutines": "gauge", "go_threads": "gauge", "go_info": "gauge", "go_gc_duration_seconds": "summary",
		"go_memstats_heap_alloc_bytes": "gauge", "go_memstats_alloc_bytes_total": "counter", "go_memstats_sys_bytes": "gauge",
		"go_gc_gogc_percent": "gauge", "go_sched_gomaxprocs_threads": "gauge",
		"process_cpu_seconds_total": "counter", "process_resident_memory_bytes": "gauge", "process_virtual_memory_bytes": "gauge",
		"process_open_fds": "gauge", "process_max_fds": "gauge", "process_start_time_seconds": "gauge",
		"process_network_receive_bytes_total": "counter",
	} {
		if types[name] != typ {
			t.Errorf("%s is a %q, want a %s", name, types[name], typ)
		}
	}
	if !strings.Contains(body, `go_info{version="go`) || !strings.Contains(body, `go_gc_duration_seconds{quantile="0.5"}`) {
		t.Errorf("go_info or the GC pause quantiles missing:\n%s", grep(body, "go_"))
	}
	if values["go_goroutines"] < 1 || values["go_memstats_heap_alloc_bytes"] <= 0 || values["go_sched_gomaxprocs_threads"] < 1 {
		t.Errorf("implausible runtime values: %v", values)
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return // not Linux: the process metrics are left out
	}
	start := values["process_start_time_seconds"]
	if since := time.Since(time.Unix(int64(start), 0)); since < -time.Minute || since > time.Hour {
		t.Errorf("process_start_time_seconds %v is %v ago", start, since)
	}
	if values["process_resident_memory_bytes"] < 1<<20 || values["process_open_fds"] < 3 || values["process_max_fds"] < values["process_open_fds"] {
		t.Errorf("implausible process values: %v", values)
	}
}
