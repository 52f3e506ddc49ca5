package worker

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/dockercoins/dockercoins"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Flusher moves the tally to Redis about once a second, like the original worker's
// INCRBY. While Redis is down it keeps the batch it holds and retries it with the same
// Seq, so a batch whose reply was lost is not counted twice.
type Flusher struct {
	Ledger dockercoins.Ledger
	Tally  *Tally
	Every  time.Duration
	Log    *slog.Logger

	inflight *dockercoins.Batch // taken from the tally, not yet acknowledged
	held     atomic.Int64       // hashes in inflight, readable from other goroutines
	flushed  atomic.Int64
}

// Run flushes until ctx ends, backing off while Redis fails.
func (f *Flusher) Run(ctx context.Context) {
	wait := f.Every
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err := f.flushAll(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = min(max(2*wait, f.Every), 5*time.Second)
			f.Log.Error("redis unavailable; keeping the count", "pending", f.Pending(), "retry_in", wait, "err", err)
			continue
		}
		wait = f.Every
	}
}

// Drain flushes what is left, retrying until ctx ends. It returns the hashes it could
// not flush.
func (f *Flusher) Drain(ctx context.Context) int64 {
	wait := 100 * time.Millisecond
	for {
		err := f.flushAll(ctx)
		if err == nil {
			return 0
		}
		f.Log.Error("final flush failed", "pending", f.Pending(), "err", err)
		select {
		case <-ctx.Done():
			return f.Pending()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Pending counts the hashes not yet in Redis.
func (f *Flusher) Pending() int64 {
	return f.Tally.PendingHashes() + f.held.Load()
}

// Flushed counts the hashes Redis has acknowledged.
func (f *Flusher) Flushed() int64 { return f.flushed.Load() }

func (f *Flusher) flushAll(ctx context.Context) error {
	for {
		if f.inflight == nil {
			b := f.Tally.Take()
			if b.Empty() {
				return nil
			}
			f.inflight = &b
			f.held.Store(b.Hashes)
		}
		if err := f.apply(ctx, *f.inflight); err != nil {
			return err
		}
		f.flushed.Add(f.inflight.Hashes)
		f.held.Store(0)
		f.inflight = nil
	}
}

// apply sends one batch in a trace of its own: a flush counts the loops of many
// traces, which find it by its batch_seq.
func (f *Flusher) apply(ctx context.Context, b dockercoins.Batch) error {
	ctx, span := tracer.Start(ctx, dockercoins.SpanFlush, trace.WithNewRoot(), trace.WithAttributes(
		attribute.Int64("worker.batch_seq", int64(b.Seq)),
		attribute.Int64("worker.hashes", b.Hashes),
		attribute.Int("worker.coins", len(b.Coins))))
	defer span.End()
	fresh, err := f.Ledger.Apply(ctx, b)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	span.SetAttributes(attribute.Bool("worker.already_applied", !fresh))
	return nil
}
