package telemetry

import (
	"context"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// spanCounts follows spans from their end to the collector. The batch processor drops
// spans silently when its queue is full; these counts make the loss visible:
// ended - exported - failed is what is queued or was dropped.
type spanCounts struct {
	ended    atomic.Int64
	exported atomic.Int64
	failed   atomic.Int64
}

// counter is a span processor that only counts the sampled spans that end.
type counter struct{ c *spanCounts }

func (p counter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p counter) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		p.c.ended.Add(1)
	}
}
func (p counter) Shutdown(context.Context) error   { return nil }
func (p counter) ForceFlush(context.Context) error { return nil }

// countingExporter counts what its exporter delivers and what it loses, and says how
// many spans a failed export dropped.
type countingExporter struct {
	sdktrace.SpanExporter
	c *spanCounts
}

func (e countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.SpanExporter.ExportSpans(ctx, spans); err != nil {
		e.c.failed.Add(int64(len(spans)))
		return fmt.Errorf("%d spans dropped: %w", len(spans), err)
	}
	e.c.exported.Add(int64(len(spans)))
	return nil
}

// observe publishes the counts as telemetry_spans_total{state=ended|exported|failed}.
func (c *spanCounts) observe(m metric.Meter) error {
	_, err := m.Int64ObservableCounter("telemetry.spans",
		metric.WithDescription("Sampled spans by state: ended, exported to the collector, or failed to export (dropped). ended - exported - failed were queued or dropped because the queue was full."),
		metric.WithUnit("{span}"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(c.ended.Load(), metric.WithAttributes(stateEnded))
			o.Observe(c.exported.Load(), metric.WithAttributes(stateExported))
			o.Observe(c.failed.Load(), metric.WithAttributes(stateFailed))
			return nil
		}))
	return err
}
