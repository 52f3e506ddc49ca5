package peer

import (
	"net/http"

	"github.com/dockercoins/dockercoins/telemetry"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
)

// tracedTransport joins calls to the caller's trace and measures them, unless
// telemetry is switched off. The global tracer provider, given once, follows whatever
// telemetry installs later.
func tracedTransport(base *http.Transport) http.RoundTripper {
	return &traced{base: base, traced: otelhttp.NewTransport(base, otelhttp.WithTracerProvider(otel.GetTracerProvider()))}
}

type traced struct {
	base   *http.Transport
	traced http.RoundTripper
}

func (t *traced) RoundTrip(r *http.Request) (*http.Response, error) {
	if telemetry.Disabled() {
		return t.base.RoundTrip(r)
	}
	return t.traced.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool underneath.
func (t *traced) CloseIdleConnections() { t.base.CloseIdleConnections() }
