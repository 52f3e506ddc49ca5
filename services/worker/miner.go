package worker

import (
	"context"

	"log/slog"
	"time"

	"github.com/dockercoins/dockercoins"

	"github.com/dockercoins/dockercoins/internal/pause"
	"github.com/dockercoins/dockercoins/peer"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracer makes the loop's spans: one trace per loop, a child span per step.
var tracer = otel.Tracer("github.com/dockercoins/dockercoins/services/worker")

// MaxRetryAfter caps how long a busy service's Retry-After makes the miner wait.
const MaxRetryAfter = 30 * time.Second

// Miner runs the DockerCoins loop: pause, get random bytes from rng, hash them with
// hasher, count the loop. A loop counts only once both calls succeeded.
type Miner struct {
	Pause   time.Duration
	RNG     dockercoins.RandomSource
	Hasher  dockercoins.HashFunc
	Tally   *Tally
	Log     *slog.Logger
	Metrics *Metrics // nil: not measured
	// Limit, when above zero, bounds the loops not yet in Redis: at Limit the miner
	// pauses until the flusher catches up, so a long outage fills the journal to a
	// known size and no further, and nothing is dropped. Pending reads that count.
	Limit   int64
	Pending func() int64
}

// Run loops until ctx ends; a loop in flight then is abandoned, not counted.
func (m *Miner) Run(ctx context.Context) {
	var backoff time.Duration
	full := false
	for ctx.Err() == nil {
		if m.Limit > 0 {
			if n := m.Pending(); n >= m.Limit {
				if !full {
					m.Log.Warn("journal full; mining paused until Redis takes the count", "pending", n, "limit", m.Limit)
					full = true
				}
				pause.For(ctx, 100*time.Millisecond)
				continue
			} else if full {
				m.Log.Info("mining resumed", "pending", n, "limit", m.Limit)
				full = false
			}
		}
		if lctx, err := m.loop(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			// Every instance busy (503 with Retry-After): wait as long as they asked.
			wait := max(backoff, min(peer.Wait(err), MaxRetryAfter))
			m.Log.WarnContext(lctx, "loop failed; backing off", "err", err, "backoff", wait)
			pause.For(ctx, wait)
			continue
		}
		backoff = 0
	}
}

// loop runs one loop as the root span of its own trace, and returns the context that
// holds that span so a failure is logged with its trace ID.
func (m *Miner) loop(ctx context.Context) (context.Context, error) {
	start := time.Now()
	ctx, span := tracer.Start(ctx, dockercoins.SpanLoop, trace.WithNewRoot())
	defer span.End()
	err := m.steps(ctx)
	if err != nil {
		if ctx.Err() == nil {
			span.SetStatus(codes.Error, err.Error())
			m.Metrics.failed()
		}
		return ctx, err
	}
	m.Metrics.completed(ctx, time.Since(start))
	return ctx, nil
}

func (m *Miner) steps(ctx context.Context) error {
	// No pause, no event: at WORKER_PAUSE=0 it would say nothing.
	if m.Pause > 0 {
		if err := step(ctx, dockercoins.SpanPause, func(ctx context.Context) error { return pause.For(ctx, m.Pause) }); err != nil {
			return err
		}
	}
	var data []byte
	if err := step(ctx, dockercoins.SpanRNG, func(ctx context.Context) (err error) {
		data, err = m.RNG.Random(ctx, dockercoins.LoopBytes)
		return err
	}); err != nil {
		return err
	}
	var hash string
	if err := step(ctx, dockercoins.SpanHasher, func(ctx context.Context) (err error) {
		hash, err = m.Hasher.Hash(ctx, data)
		return err
	}); err != nil {
		return err
	}
	// Redis hears of the loop only with the next batch, about a second later; the loop
	// span names that batch, which its own "flush" trace carries too. Counting takes
	// microseconds: a span of its own would cost more than it shows.
	seq := m.Tally.Add(hash, data, time.Now())
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.Int64("worker.batch_seq", int64(seq)), attribute.Bool("worker.coin", dockercoins.IsCoin(hash)))
	}
	return nil
}

// step runs f as one step of the loop. A sampled loop records the step as an event on
// its span (its start, length and error), not as a span of its own: a span costs
// about 18 µs of CPU between the worker, its exporter and Jaeger, and the report and
// the waterfall read the event back as a span (bottleneck.Phases). The calls' server
// spans are the loop span's children.
func step(ctx context.Context, name string, f func(ctx context.Context) error) error {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return f(ctx)
	}
	start := time.Now()
	err := f(ctx)
	attrs := []attribute.KeyValue{attribute.Int64(dockercoins.EventStepDuration, time.Since(start).Microseconds())}
	if err != nil {
		attrs = append(attrs, attribute.String("error.message", err.Error()))
	}
	span.AddEvent(name, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	return err
}
