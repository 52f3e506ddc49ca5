package mesh

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
	traced := otelhttp.NewTransport(base, otelhttp.WithTracerProvider(otel.GetTracerProvider()))
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if telemetry.Disabled() {
			return base.RoundTrip(r)
		}
		return traced.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
