package telemetry

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"
)

// spanCounts follows sampled spans from their end to the collector. The queue drops
// spans when it is full; these counts make the loss visible: ended - exported - failed
// is what is queued or was dropped.
type spanCounts struct {
	ended    atomic.Int64
	exported atomic.Int64
	failed   atomic.Int64
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
