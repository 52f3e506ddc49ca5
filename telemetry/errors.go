package telemetry

import (
	"log/slog"
	"sync"
	"time"
)

// errorLog logs OpenTelemetry's internal errors (a failed export, above all) at most
// once per interval, counting what it held back, so a collector that is down fills
// neither the log nor the CPU.
type errorLog struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newErrorLog(log *slog.Logger, every time.Duration) *errorLog {
	return &errorLog{log: log, every: every, now: time.Now}
}

// Handle implements otel.ErrorHandler.
func (e *errorLog) Handle(err error) {
	e.mu.Lock()
	now := e.now()
	if !e.last.IsZero() && now.Sub(e.last) < e.every {
		e.suppressed++
		e.mu.Unlock()
		return
	}
	e.last = now
	n := e.suppressed
	e.suppressed = 0
	e.mu.Unlock()
	e.log.Warn("telemetry error; requests are not affected", "err", err, "similar_errors_not_logged", n)
}
