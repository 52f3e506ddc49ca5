package rng

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/pause"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/semaphore"
)

// This file is rng's simulated slowness: one entropy slot per instance (RNG_SLOTS),
// held for RNG_DELAY by each request, so that requests queue and rng becomes the
// bottleneck the workshop teaches.

func newEntropy(slots, queueMax int, delay time.Duration) *entropy {
	slots = max(slots, 1)
	return &entropy{slots: semaphore.NewWeighted(int64(slots)), size: slots, queueMax: int64(max(queueMax, 0)), delay: delay}
}

// entropy is rng's slots, and how many requests wait for one.
type entropy struct {
	slots    *semaphore.Weighted
	size     int
	queueMax int64         // the most requests that wait for a slot; more are turned away
	delay    time.Duration // how long each holds its slot, for the wait a turned-away caller is told
	waiting  atomic.Int64
}

// busyError turns a request away because the queue is full.
type busyError struct {
	waiting    int64
	retryAfter time.Duration // about how long the queue ahead takes to drain
}

func (e *busyError) Error() string {
	return fmt.Sprintf("rng busy: %d requests already waiting for an entropy slot; retry later or on another instance", e.waiting)
}

// acquire waits in line for a slot and says how many requests were ahead. When
// queueMax requests already wait it answers a *busyError at once, unless a slot is
// free: an unbounded line would let a flood make every caller wait past its timeout,
// and hold a goroutine per waiter. The caller releases the slot.
func (e *entropy) acquire(ctx context.Context) (ahead int64, err error) {
	ahead = e.waiting.Add(1) - 1
	defer e.waiting.Add(-1)
	if ahead >= e.queueMax {
		if e.slots.TryAcquire(1) {
			return ahead, nil // a free slot, taken: no line to wait in
		}
		return ahead, &busyError{waiting: ahead, retryAfter: time.Duration(ahead/int64(e.size)+1) * e.delay}
	}
	return ahead, e.slots.Acquire(ctx, 1)
}

// generate waits in line for an entropy slot, then holds it for e.delay: the queueing,
// not the work, is what makes rng the bottleneck. The moment the slot is taken is an
// event on the request's span, so a trace shows which of the two a slow request spent
// its time in (two spans would cost a loop two more).
func generate(ctx context.Context, e *entropy, n int) ([]byte, error) {
	ahead, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.slots.Release(1)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(dockercoins.EventSlotHeld, trace.WithAttributes(attribute.Int64("rng.waiting_ahead", ahead),
			attribute.Int("rng.slots", e.size)))
	}
	if err := pause.For(ctx, e.delay); err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	rand.Read(buf)
	return buf, nil
}

// turn waits in line for a slot and gives it back at once.
func (e *entropy) turn(ctx context.Context) error {
	if _, err := e.acquire(ctx); err != nil {
		return err
	}
	e.slots.Release(1)
	return nil
}
