package telemetry

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// This file measures HTTP requests, served and sent, as http.server.request.duration and
// http.client.request.duration with the semantic conventions' attributes. otelhttp
// measures them too, but builds each request's attribute set anew and wraps its writer
// and body: at zero delay that cost a tenth of a loop. Here a request costs one lookup
// of an attribute set made once per route, peer and status, and one histogram record.

// durationBuckets are the semantic conventions' advised boundaries for request durations.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// requestKey is what a request's attributes are made of.
type requestKey struct {
	method, route, host, scheme, errType string
	status                               int
}

// requestDurations is one duration histogram and the attribute sets seen so far.
type requestDurations struct {
	hist metric.Float64Histogram
	mu   sync.RWMutex
	opts map[requestKey]metric.RecordOption
}

func newRequestDurations(m metric.Meter, name, what string) *requestDurations {
	h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(what),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		otel.Handle(fmt.Errorf("%s: %w", name, err))
	}
	return &requestDurations{hist: h, opts: map[requestKey]metric.RecordOption{}}
}

// record adds one request of duration d. The route is empty for client requests.
func (x *requestDurations) record(r *http.Request, k requestKey, d time.Duration) {
	x.mu.RLock()
	opt, ok := x.opts[k]
	x.mu.RUnlock()
	if !ok {
		opt = x.option(k, r)
	}
	x.hist.Record(r.Context(), d.Seconds(), opt)
}

// option makes the attribute set of a key seen for the first time. The keys are few:
// methods, routes and peers are the service's own, statuses a handful.
func (x *requestDurations) option(k requestKey, r *http.Request) metric.RecordOption {
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", k.method),
		attribute.String("url.scheme", k.scheme),
		attribute.String("network.protocol.name", "http"),
		attribute.String("network.protocol.version", strconv.Itoa(r.ProtoMajor)+"."+strconv.Itoa(r.ProtoMinor)),
	}
	host, port, err := net.SplitHostPort(k.host)
	if err != nil {
		host, port = k.host, ""
	}
	attrs = append(attrs, attribute.String("server.address", host))
	if n, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, attribute.Int("server.port", n))
	}
	if k.status != 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", k.status))
	}
	if k.route != "" {
		attrs = append(attrs, attribute.String("http.route", k.route))
	}
	if k.errType != "" {
		attrs = append(attrs, attribute.String("error.type", k.errType))
	}
	opt := metric.WithAttributeSet(attribute.NewSet(attrs...))
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.opts) < maxRequestKeys {
		x.opts[k] = opt
	}
	return opt
}

// maxRequestKeys bounds the attribute sets kept, against callers inventing hosts.
const maxRequestKeys = 1024

// ClientMetrics measures the requests an HTTP client sends.
type ClientMetrics struct{ d *requestDurations }

// NewClientMetrics makes http.client.request.duration from the global meter provider,
// which follows whatever Start installs later.
func NewClientMetrics() *ClientMetrics {
	return &ClientMetrics{newRequestDurations(otel.Meter(ScopeName), "http.client.request.duration", "Duration of HTTP client requests.")}
}

// Record adds one request sent, answered with resp or failed with err, that took d.
func (c *ClientMetrics) Record(r *http.Request, resp *http.Response, err error, d time.Duration) {
	k := requestKey{method: r.Method, host: r.URL.Host, scheme: r.URL.Scheme}
	if err != nil {
		k.errType = fmt.Sprintf("%T", err)
	} else {
		k.status = resp.StatusCode
		if k.status >= 400 {
			k.errType = strconv.Itoa(k.status)
		}
	}
	c.d.record(r, k, d)
}

// routeOf is a mux pattern without its method, as http.route wants it.
func routeOf(pattern string) string {
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == ' ' {
			return pattern[i+1:]
		}
	}
	return pattern
}

// statusWriter keeps the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Flush passes a handler's flush on, for streamed answers.
func (s *statusWriter) Flush() { http.NewResponseController(s.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the connection's own writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
