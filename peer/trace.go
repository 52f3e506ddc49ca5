package peer

import (
	"net/http"
	"time"

	"github.com/dockercoins/dockercoins/telemetry"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// tracedTransport measures calls and joins them to the caller's trace, unless
// telemetry is switched off. The global tracer provider, given once, follows whatever
// telemetry installs later.
func tracedTransport(base *http.Transport) http.RoundTripper {
	return &traced{
		base:    base,
		traced:  otelhttp.NewTransport(base, otelhttp.WithTracerProvider(otel.GetTracerProvider()), otelhttp.WithMeterProvider(metricnoop.NewMeterProvider())),
		metrics: telemetry.NewClientMetrics(),
	}
}

type traced struct {
	base    *http.Transport
	traced  http.RoundTripper
	metrics *telemetry.ClientMetrics
}

// RoundTrip sends r through otelhttp, which makes the client span and passes the trace
// on, only when r is part of a trace: a worker's loop with tracing off is not, and
// skipping otelhttp there saves a copy of every request and its wrapped body.
func (t *traced) RoundTrip(r *http.Request) (*http.Response, error) {
	if telemetry.Disabled() {
		return t.base.RoundTrip(r)
	}
	start := time.Now()
	via := http.RoundTripper(t.base)
	if trace.SpanContextFromContext(r.Context()).IsValid() {
		via = t.traced
	}
	resp, err := via.RoundTrip(r)
	t.metrics.Record(r, resp, err, time.Since(start))
	return resp, err
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool underneath.
func (t *traced) CloseIdleConnections() { t.base.CloseIdleConnections() }
