package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName names the instruments this package makes.
const ScopeName = "github.com/dockercoins/dockercoins/telemetry"

var (
	stateEnded    = attribute.String("state", "ended")
	stateExported = attribute.String("state", "exported")
	stateFailed   = attribute.String("state", "failed")
)

// disabled is set while OTEL_SDK_DISABLED is in force, for code that must skip its
// instrumentation altogether, such as the mesh client's transport.
var disabled atomic.Bool

// Disabled reports whether telemetry is switched off (OTEL_SDK_DISABLED=true): then
// instrumentation should be skipped, not just fed to no-op providers.
func Disabled() bool { return disabled.Load() }

// Telemetry is a service's running tracing and metrics. Start installs it as
// OpenTelemetry's global providers, so instrumented libraries (redisotel) and
// the services' own spans and instruments use it without being handed it.
type Telemetry struct {
	tracing  *tracerProvider // nil when tracing is off
	meters   *sdkmetric.MeterProvider
	metrics  *promHandler
	counts   *spanCounts
	log      *slog.Logger
	disabled bool
}

// Start sets up metrics always, and tracing when an OTLP endpoint is set. With no
// endpoint the no-op tracer provider is installed: a span costs a no-op call, and trace
// context from callers is still passed on. Exports run in the background through a
// bounded queue: a slow or missing collector drops spans, never delays a request.
func Start(ctx context.Context, c Settings, log *slog.Logger) (*Telemetry, error) {
	target, err := c.TracesURL()
	if err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	protocol, err := c.protocol()
	if err != nil {
		return nil, err
	}
	sample, err := sampler(c.Sampler, c.SamplerArg)
	if err != nil {
		return nil, err
	}
	res, err := newResource(c)
	if err != nil {
		return nil, err
	}
	headers, err := c.headers()
	if err != nil {
		return nil, err
	}
	t := &Telemetry{counts: &spanCounts{}, log: log, disabled: c.Disabled}
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetErrorHandler(newErrorLog(log, 10*time.Second))
	disabled.Store(c.Disabled)
	if c.Disabled {
		// /metrics keeps the Go runtime's and the process's own metrics, which cost
		// nothing until scraped.
		otel.SetTracerProvider(tracenoop.NewTracerProvider())
		otel.SetMeterProvider(metricnoop.NewMeterProvider())
		t.metrics = newPromHandler(nil)
		log.Info("telemetry off", "reason", "OTEL_SDK_DISABLED")
		return t, nil
	}
	t.startMetrics(res)
	if target == "" {
		// The no-op provider still hands on a caller's trace context, so logs and
		// onward calls keep the caller's trace ID.
		otel.SetTracerProvider(tracenoop.NewTracerProvider())
		log.Info("tracing off", "reason", "no OTEL_EXPORTER_OTLP_ENDPOINT")
		return t, nil
	}
	if err := t.startTracing(c, newExporter(target, protocol, headers), res, sample); err != nil {
		return nil, err
	}
	log.Info("tracing on", "endpoint", target, "protocol", protocol, "sampler", c.Sampler, "queue", c.QueueSize)
	return t, nil
}

// startMetrics installs the meter provider whose metrics /metrics serves.
func (t *Telemetry) startMetrics(res *resource.Resource) {
	// Scrapes read the instruments: the reader's default temporality is cumulative, as
	// Prometheus wants.
	reader := sdkmetric.NewManualReader()
	t.metrics = newPromHandler(reader)
	// Exemplars link metrics to traces, but Prometheus' text format cannot carry them:
	// offering every measurement to a reservoir would be work for nothing.
	t.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res),
		sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))
	otel.SetMeterProvider(t.meters)
}

// startTracing installs the tracer provider that batches sampled spans to exp.
func (t *Telemetry) startTracing(c Settings, exp *otlpExporter, res *resource.Resource, sample sdktrace.Sampler) error {
	q := newSpanQueue(exp, t.counts, c.QueueSize, c.BatchSize, c.batchDelay(), 10*time.Second)
	t.tracing = newTracerProvider(sample, res, q)
	otel.SetTracerProvider(t.tracing)
	if err := t.counts.observe(t.meters.Meter(ScopeName)); err != nil {
		return fmt.Errorf("span counts: %w", err)
	}
	return nil
}

// Tracing reports whether spans are exported.
func (t *Telemetry) Tracing() bool { return t.tracing != nil }

// Metrics serves the metrics in Prometheus' text format.
func (t *Telemetry) Metrics() http.Handler { return t.metrics }

// Handler wraps a service's handler: every request gets request count and latency
// metrics and, with tracing on, a server span joined to the caller's trace; GET
// /metrics serves the metrics. With tracing off a caller's trace context is still
// taken in, so logs and onward calls keep its trace ID. Scrapes themselves are neither
// traced nor counted.
func (t *Telemetry) Handler(h http.Handler) http.Handler {
	served := h
	if !t.disabled {
		var tracer trace.Tracer // nil: tracing off, the caller's trace context only passed on
		if t.tracing != nil {
			tracer = t.tracing.Tracer(ScopeName)
		}
		served = instrument(t.meters.Meter(ScopeName), tracer, h)
	}
	metrics := t.Metrics()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			metrics.ServeHTTP(w, r)
			return
		}
		served.ServeHTTP(w, r)
	})
}

// Shutdown exports the spans still queued, waiting at most until ctx ends, and says
// how many spans were lost over the service's life.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if t.tracing != nil {
		if err := t.tracing.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush spans: %w", err))
		}
		ended, exported := t.counts.ended.Load(), t.counts.exported.Load()
		t.log.Info("tracing stopped", "spans", ended, "exported", exported, "dropped", ended-exported)
	}
	if t.meters != nil {
		if err := t.meters.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("metrics: %w", err))
		}
	}
	return errors.Join(errs...)
}
