package rng

import (
	"context"
	"crypto/rand"
	"sync/atomic"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/pause"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/semaphore"
)

// This file is rng's simulated slowness: one entropy slot per instance (RNG_SLOTS),
// held for RNG_DELAY by each request, so that requests queue and rng becomes the
// bottleneck the workshop teaches.

// tracer makes the spans that split a request's time into queueing and work.
var tracer = otel.Tracer("github.com/dockercoins/dockercoins/services/rng")

func newEntropy(slots int) *entropy {
	slots = max(slots, 1)
	return &entropy{slots: semaphore.NewWeighted(int64(slots)), size: slots}
}

// entropy is rng's slots, and how many requests wait for one.
type entropy struct {
	slots   *semaphore.Weighted
	size    int
	waiting atomic.Int64
}

// acquire waits in line for a slot, in a span of its own: a trace shows the queueing
// apart from the work. The caller releases the slot.
func (e *entropy) acquire(ctx context.Context) error {
	ahead := e.waiting.Add(1) - 1
	defer e.waiting.Add(-1)
	ctx, wait := tracer.Start(ctx, dockercoins.SpanWait, trace.WithAttributes(
		attribute.Int64("rng.waiting_ahead", ahead), attribute.Int("rng.slots", e.size)))
	defer wait.End()
	if err := e.slots.Acquire(ctx, 1); err != nil {
		wait.SetStatus(codes.Error, "caller left while waiting")
		return err
	}
	return nil
}

// generate waits in line for an entropy slot, then holds it for delay: the queueing,
// not the work, is what makes rng the bottleneck. Each phase is a span of its own, so
// a trace shows which of the two a slow request spent its time in.
func generate(ctx context.Context, e *entropy, delay time.Duration, n int) ([]byte, error) {
	if err := e.acquire(ctx); err != nil {
		return nil, err
	}
	defer e.slots.Release(1)
	_, hold := tracer.Start(ctx, dockercoins.SpanHold, trace.WithAttributes(attribute.Int("rng.bytes", n)))
	defer hold.End()
	if err := pause.For(ctx, delay); err != nil {
		hold.SetStatus(codes.Error, "caller left while holding the slot")
		return nil, err
	}
	buf := make([]byte, n)
	rand.Read(buf)
	return buf, nil
}

// turn waits in line for a slot and gives it back at once.
func (e *entropy) turn(ctx context.Context) error {
	if err := e.acquire(ctx); err != nil {
		return err
	}
	e.slots.Release(1)
	return nil
}
