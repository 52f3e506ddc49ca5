package telemetry

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
)

// spanExporter sends batches of ended spans to a collector.
type spanExporter interface {
	ExportSpans(ctx context.Context, spans []spanData) error
	Shutdown(ctx context.Context) error
}

// spanQueue holds sampled spans from their end until its goroutine exports them: a
// batch as soon as one has gathered, else what there is every delay. It never makes a
// span's End wait: a full queue drops the span (counted: ended but never exported),
// and only a whole batch wakes the exporting goroutine.
type spanQueue struct {
	exp            spanExporter
	counts         *spanCounts
	size, batch    int
	delay, timeout time.Duration // between partial batches; of one export

	mu     sync.Mutex
	spans  []spanData
	closed bool

	ready  chan struct{}      // a whole batch is queued
	stop   chan struct{}      // closed by shutdown
	done   chan struct{}      // closed when the last export has returned
	live   context.Context    // of every export; cancelled when shutdown gives up
	giveUp context.CancelFunc // cancels live
}

func newSpanQueue(exp spanExporter, counts *spanCounts, size, batch int, delay, timeout time.Duration) *spanQueue {
	q := &spanQueue{exp: exp, counts: counts, size: size, batch: batch, delay: delay, timeout: timeout,
		spans: make([]spanData, 0, size), ready: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	q.live, q.giveUp = context.WithCancel(context.Background())
	go q.run()
	return q
}

// add queues an ended span.
func (q *spanQueue) add(s *span) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.counts.ended.Add(1)
	if len(q.spans) == q.size {
		q.mu.Unlock()
		return
	}
	q.spans = append(q.spans, s)
	whole := len(q.spans) == q.batch
	q.mu.Unlock()
	if whole {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
}

func (q *spanQueue) run() {
	defer close(q.done)
	batch := make([]spanData, 0, q.batch)
	t := time.NewTimer(q.delay)
	defer t.Stop()
	for {
		select {
		case <-q.ready:
			for q.export(&batch, false) > 0 {
			}
		case <-t.C:
			q.export(&batch, true)
		case <-q.stop:
			for q.export(&batch, true) > 0 {
			}
			return
		}
		t.Reset(q.delay)
	}
}

// export takes the oldest spans off the queue, a whole batch or, when partial, what
// there is, exports them, and says how many it took.
func (q *spanQueue) export(batch *[]spanData, partial bool) int {
	q.mu.Lock()
	n := len(q.spans)
	if n < q.batch && !partial {
		n = 0
	}
	n = min(n, q.batch)
	*batch = append((*batch)[:0], q.spans[:n]...)
	rest := copy(q.spans, q.spans[n:])
	clear(q.spans[rest:])
	q.spans = q.spans[:rest]
	q.mu.Unlock()
	if n == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(q.live, q.timeout)
	err := q.exp.ExportSpans(ctx, *batch)
	cancel()
	if err != nil {
		q.counts.failed.Add(int64(n))
		otel.Handle(fmt.Errorf("%d spans dropped: %w", n, err))
	} else {
		q.counts.exported.Add(int64(n))
	}
	clear(*batch) // the spans are garbage now
	return n
}

// shutdown stops taking spans, exports those queued, and stops the exporter, waiting at
// most until ctx ends: then the export under way is cancelled and what is still queued
// fails at once. Either way no export is left running when it returns.
func (q *spanQueue) shutdown(ctx context.Context) error {
	q.mu.Lock()
	closed := q.closed
	q.closed = true
	q.mu.Unlock()
	if closed {
		return nil
	}
	close(q.stop)
	defer q.giveUp()
	var err error
	select {
	case <-q.done:
	case <-ctx.Done():
		err = ctx.Err()
		q.giveUp()
		<-q.done
	}
	if xerr := q.exp.Shutdown(ctx); err == nil {
		err = xerr
	}
	return err
}
