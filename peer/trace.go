package peer

import (
	"context"
	"net/http"
	"time"

	"github.com/dockercoins/dockercoins/telemetry"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// measuredTransport measures calls, unless telemetry is switched off.
func measuredTransport(base *http.Transport) http.RoundTripper {
	return &measured{base: base, metrics: telemetry.NewClientMetrics()}
}

type measured struct {
	base    *http.Transport
	metrics *telemetry.ClientMetrics
}

func (t *measured) RoundTrip(r *http.Request) (*http.Response, error) {
	if telemetry.Disabled() {
		return t.base.RoundTrip(r)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	t.metrics.Record(r, resp, err, time.Since(start))
	return resp, err
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool underneath.
func (t *measured) CloseIdleConnections() { t.base.CloseIdleConnections() }

// joinTrace passes the trace of ctx on to the peer in req's traceparent header. The
// caller's own span (the worker's "rng" or "hasher" step) is the parent of the peer's
// server span: a client span of its own in between would say nothing the step does not.
func joinTrace(ctx context.Context, req *http.Request) {
	if telemetry.Disabled() || !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
}
