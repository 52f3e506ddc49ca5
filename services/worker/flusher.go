package worker

import (
	"context"
	"errors"
	"fmt"
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
//
// "Already applied" is the answer a retry gets when the reply to an earlier attempt
// was lost after the batch landed: that batch counts as flushed. The same answer is an
// anomaly when no earlier attempt can have landed: on a batch's first attempt, or
// after the ledger's last answer was a refusal (dockercoins.ErrRejected, which the
// Redis script only gives after finding the batch not yet applied). Then something
// else applied this identity's sequence number (a second process with the same
// identity, a ledger that lost its markers): the batch is logged, counted in
// Anomalies, and not counted as flushed.
type Flusher struct {
	Ledger  dockercoins.Ledger
	Tally   *Tally
	Every   time.Duration
	Log     *slog.Logger
	Journal *Journal // nil: no journal; else acknowledgements are recorded there

	queue     []dockercoins.Batch // replayed from the journal, to apply before the tally's
	inflight  *dockercoins.Batch  // taken, not yet acknowledged
	landed    bool                // an attempt at inflight may have applied it
	attempts  int                 // at inflight, by this process
	held      atomic.Int64        // hashes in inflight and queue, readable from other goroutines
	flushed   atomic.Int64
	anomalies atomic.Int64 // batches
	anomalous atomic.Int64 // their hashes
}

// Replay queues batches a previous process took but had no acknowledgement for. Any of
// them may have landed, so "already applied" is the expected answer to them.
func (f *Flusher) Replay(batches []dockercoins.Batch) {
	for _, b := range batches {
		f.queue = append(f.queue, b)
		f.held.Add(b.Hashes)
	}
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
			msg := "redis unavailable; keeping the count"
			if errors.Is(err, dockercoins.ErrRejected) {
				msg = "redis refused the batch; keeping the count"
			}
			f.Log.Error(msg, "pending", f.Pending(), "retry_in", wait, "err", err)
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

// Anomalies counts the batches Redis called already applied when none of their
// attempts can have landed.
func (f *Flusher) Anomalies() int64 { return f.anomalies.Load() }

// Anomalous counts the hashes in those batches.
func (f *Flusher) Anomalous() int64 { return f.anomalous.Load() }

func (f *Flusher) flushAll(ctx context.Context) error {
	for {
		if f.inflight == nil {
			if len(f.queue) > 0 {
				f.inflight, f.queue, f.landed = &f.queue[0], f.queue[1:], true
			} else {
				b := f.Tally.Take()
				if b.Empty() {
					// Everything taken is acknowledged: the journal can shrink.
					return f.Tally.compact()
				}
				f.inflight, f.landed = &b, false
				f.held.Add(b.Hashes)
				// The original worker's line, so its logs read the same in the workshop.
				f.Log.Info(fmt.Sprintf("%d units of work done, updating hash counter", b.Hashes),
					"seq", b.Seq, "hashes", b.Hashes, "coins", len(b.Coins))
			}
			f.attempts = 0
		}
		b := *f.inflight
		f.attempts++
		fresh, err := f.apply(ctx, b)
		if err != nil {
			// A refusal proves this attempt applied nothing and that the batch had not
			// landed before it; a lost reply leaves both open.
			f.landed = !errors.Is(err, dockercoins.ErrRejected)
			return err
		}
		if !fresh && !f.landed {
			f.anomalies.Add(1)
			f.anomalous.Add(b.Hashes)
			why := "first attempt"
			if f.attempts > 1 {
				why = "after the ledger refused it"
			}
			f.Log.Error("ledger anomaly: batch reported already applied, not counted as flushed",
				"seq", b.Seq, "hashes", b.Hashes, "coins", len(b.Coins), "attempt", f.attempts, "why", why)
		} else {
			f.flushed.Add(b.Hashes)
		}
		if f.Journal != nil {
			f.Journal.ack(b.Seq)
		}
		f.held.Add(-b.Hashes)
		f.inflight = nil
	}
}

// apply sends one batch in a trace of its own: a flush counts the loops of many
// traces, which find it by its batch_seq.
func (f *Flusher) apply(ctx context.Context, b dockercoins.Batch) (bool, error) {
	ctx, span := tracer.Start(ctx, dockercoins.SpanFlush, trace.WithNewRoot(), trace.WithAttributes(
		attribute.Int64("worker.batch_seq", int64(b.Seq)),
		attribute.Int64("worker.hashes", b.Hashes),
		attribute.Int("worker.coins", len(b.Coins))))
	defer span.End()
	fresh, err := f.Ledger.Apply(ctx, b)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return false, err
	}
	span.SetAttributes(attribute.Bool("worker.already_applied", !fresh))
	return fresh, nil
}
