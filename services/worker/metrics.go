package worker

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Metrics are the worker's own instruments, served at /metrics as worker_loops_total,
// worker_coins_total, worker_loop_failures_total, worker_loop_duration_seconds and
// worker_ledger_anomalies_total.
// The counters are read when scraped (loops and coins from the tally, so they always
// match the status line), which also makes them show from the start, at zero.
type Metrics struct {
	failures atomic.Int64
	duration metric.Float64Histogram
}

// NewMetrics makes the instruments from m, reading loop and coin totals from tally,
// and the ledger anomalies (worker_ledger_anomalies_total) from anomalies.
func NewMetrics(m metric.Meter, tally *Tally, anomalies func() int64) (*Metrics, error) {
	x := &Metrics{}
	var err error
	if _, err = m.Int64ObservableCounter("worker.ledger.anomalies", metric.WithUnit("{batch}"),
		metric.WithDescription("Batches the ledger called already applied when no attempt of them can have landed: not counted as flushed."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(anomalies())
			return nil
		})); err != nil {
		return nil, fmt.Errorf("worker.ledger.anomalies: %w", err)
	}
	if _, err = m.Int64ObservableCounter("worker.loops", metric.WithUnit("{loop}"),
		metric.WithDescription("Loops completed: random bytes fetched, hashed and counted."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			loops, _ := tally.Totals()
			o.Observe(loops)
			return nil
		})); err != nil {
		return nil, fmt.Errorf("worker.loops: %w", err)
	}
	if _, err = m.Int64ObservableCounter("worker.coins", metric.WithUnit("{coin}"),
		metric.WithDescription("Coins found: hashes starting with 0."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			_, coins := tally.Totals()
			o.Observe(coins)
			return nil
		})); err != nil {
		return nil, fmt.Errorf("worker.coins: %w", err)
	}
	if _, err = m.Int64ObservableCounter("worker.loop.failures", metric.WithUnit("{loop}"),
		metric.WithDescription("Loops abandoned because rng or hasher failed."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(x.failures.Load())
			return nil
		})); err != nil {
		return nil, fmt.Errorf("worker.loop.failures: %w", err)
	}
	if x.duration, err = m.Float64Histogram("worker.loop.duration", metric.WithUnit("s"),
		metric.WithDescription("Time of a completed loop, pause included."),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1, 1.5, 2, 3, 5, 10)); err != nil {
		return nil, fmt.Errorf("worker.loop.duration: %w", err)
	}
	return x, nil
}

func (x *Metrics) completed(ctx context.Context, d time.Duration) {
	if x != nil {
		x.duration.Record(ctx, d.Seconds())
	}
}

func (x *Metrics) failed() {
	if x != nil {
		x.failures.Add(1)
	}
}
