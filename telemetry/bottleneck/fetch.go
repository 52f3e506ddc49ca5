package bottleneck

import (
	"context"
	"time"

	"github.com/dockercoins/dockercoins/telemetry/jaeger"
)

// Options select the loops to read.
type Options struct {
	Lookback time.Duration // how far back loops may have started
	Limit    int           // at most this many loops, the most recent first
	// Settle leaves out the loops of the last moments, whose rng and hasher spans may
	// still be on their way: each service exports on its own schedule.
	Settle time.Duration
}

// Fetch reads recent worker loops from Jaeger and analyses them.
func Fetch(ctx context.Context, c *jaeger.Client, o Options, now time.Time) (Report, error) {
	end := now.Add(-o.Settle)
	traces, err := c.Traces(ctx, jaeger.Query{
		Service: Service, Operation: Loop, Start: end.Add(-o.Lookback), End: end, Limit: o.Limit,
	})
	if err != nil {
		return Report{}, err
	}
	return Analyze(traces), nil
}
