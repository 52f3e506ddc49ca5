package telemetry

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// This file instruments the requests a service serves: one wrapper for the duration
// metric and the server span, sharing one status-recording writer. otelhttp's handler
// did the span before, at a cost in every request, sampled or not: the semantic
// conventions' attributes built anew, the writer and body wrapped, a span started even
// for a trace nobody keeps. Here a request whose trace is not sampled costs the
// header's parsing and a non-recording span; only a sampled one gets its attributes.

// instrument measures the requests h serves and, with a tracer, wraps each in a server
// span named for the route the mux picks (such as "GET /{n}"), child of the caller's
// span when the request carries a traceparent. With a nil tracer (tracing off) the
// caller's trace context is still taken in, so logs and onward calls keep its trace ID.
func instrument(m metric.Meter, tracer trace.Tracer, h http.Handler) http.Handler {
	d := newRequestDurations(m, "http.server.request.duration", "Duration of HTTP server requests.")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		if r.Header.Get("Traceparent") != "" {
			ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.HeaderCarrier(r.Header))
		}
		span := trace.SpanFromContext(ctx)
		if tracer != nil {
			ctx, span = tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
			defer span.End()
		}
		if ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		rec := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		// The mux has set the pattern it chose on r by now.
		k := requestKey{method: r.Method, route: routeOf(r.Pattern), host: r.Host, scheme: scheme, status: rec.code()}
		if k.status >= 500 {
			k.errType = strconv.Itoa(k.status)
		}
		d.record(r, k, time.Since(start))
		if span.IsRecording() {
			nameServerSpan(span, r, k)
		}
	})
}

// serverAttrs holds the attribute lists of server spans between requests: the span
// copies the list it is given, and a list made anew for every request was a fifth of
// what a traced request allocates in rng.
var serverAttrs = sync.Pool{New: func() any { return new([8]attribute.KeyValue) }}

// nameServerSpan gives a sampled server span its route name and the attributes the
// semantic conventions require of one. Their recommended server.address and
// network.peer.address are left out: the trace already names both ends (the caller is
// the parent span's service instance), in the mesh both are a sidecar's loopback
// address, and every attribute costs Jaeger's store a copy in every trace it keeps.
func nameServerSpan(span trace.Span, r *http.Request, k requestKey) {
	if r.Pattern != "" {
		span.SetName(r.Pattern)
	}
	buf := serverAttrs.Get().(*[8]attribute.KeyValue)
	attrs := append(buf[:0],
		attribute.String("http.request.method", k.method),
		attribute.String("url.path", r.URL.Path),
		attribute.String("url.scheme", k.scheme),
		attribute.Int("http.response.status_code", k.status),
	)
	if k.route != "" {
		attrs = append(attrs, attribute.String("http.route", k.route))
	}
	if k.errType != "" {
		attrs = append(attrs, attribute.String("error.type", k.errType))
		span.SetStatus(codes.Error, http.StatusText(k.status))
	}
	span.SetAttributes(attrs...)
	clear(buf[:]) // the pooled list must not keep this request's strings alive
	serverAttrs.Put(buf)
}
