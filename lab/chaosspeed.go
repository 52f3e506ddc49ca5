package lab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/poll"
	"github.com/dockercoins/dockercoins/redis"
	goredis "github.com/redis/go-redis/v9"
)

// watchStall samples Redis's count every 100 ms until the returned function is
// called, which returns the longest time the count stood still.
func (c *Chaos) watchStall(ctx context.Context) func() time.Duration {
	done := make(chan struct{})
	result := make(chan time.Duration)
	go func() {
		var longest time.Duration
		last, since := int64(-1), time.Now()
		for {
			select {
			case <-done:
				result <- max(longest, time.Since(since))
				return
			case <-time.After(100 * time.Millisecond):
			}
			n, err := c.redis.Get(ctx, dockercoins.HashesKey).Int64()
			if err == nil && n != last {
				longest = max(longest, time.Since(since))
				last, since = n, time.Now()
			}
		}
	}()
	return func() time.Duration {
		close(done)
		return (<-result).Round(100 * time.Millisecond)
	}
}

// dockercoinsSettle is how long after a second its bucket is complete: a worker
// flushes every worker_flush_every (1 s at most here) and a flush takes a moment.
const dockercoinsSettle = 2 * time.Second

// waitRecovered waits until the per-second buckets from the fault on show the speed
// back to RecoverShare of baseline, and returns how long that took (-1: not within
// c.Recover).
func (c *Chaos) waitRecovered(ctx context.Context, start time.Time, baseline float64) time.Duration {
	d := time.Duration(-1)
	poll.Within(ctx, time.Until(start.Add(c.Recover)), 500*time.Millisecond, func() bool {
		d = c.recovery(ctx, start, baseline, time.Now().Add(-dockercoinsSettle))
		return d >= 0
	})
	return d
}

// recovery finds the first second from start on that begins two seconds each at
// RecoverShare of baseline or more, all of them settled by until, and returns its
// distance from start (-1: none yet).
func (c *Chaos) recovery(ctx context.Context, start time.Time, baseline float64, until time.Time) time.Duration {
	first, last := start.Unix(), until.Unix()
	if last-first < 1 {
		return -1
	}
	counts := c.buckets(ctx, first, last)
	for i := 0; i+1 < len(counts); i++ {
		if float64(counts[i]) >= RecoverShare*baseline && float64(counts[i+1]) >= RecoverShare*baseline {
			return max(0, time.Unix(first+int64(i), 0).Sub(start).Round(time.Second))
		}
	}
	return -1
}

// speed averages n per-second buckets from the second of from.
func (c *Chaos) speed(ctx context.Context, from time.Time, n int) float64 {
	var sum int64
	for _, v := range c.buckets(ctx, from.Unix(), from.Unix()+int64(n)-1) {
		sum += v
	}
	return float64(sum) / float64(n)
}

// buckets reads the hashes counted in each second from first to last; while Redis is
// away, none (so no recovery is seen and no speed measured).
func (c *Chaos) buckets(ctx context.Context, first, last int64) []int64 {
	counts, _ := (&redis.Reader{Client: c.redis}).Buckets(ctx, first, last)
	return counts
}

// hashes reads Redis's count, retrying for a while: Redis may be restarting.
func (c *Chaos) hashes(ctx context.Context) (int64, error) {
	var n int64
	var err error
	if poll.Within(ctx, 30*time.Second, 500*time.Millisecond, func() bool {
		n, err = c.redis.Get(ctx, dockercoins.HashesKey).Int64()
		if errors.Is(err, goredis.Nil) {
			n, err = 0, nil
		}
		return err == nil
	}) {
		return n, nil
	}
	return 0, fmt.Errorf("read hashes: %w", err)
}
