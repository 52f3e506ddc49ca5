// Package pause waits, the way DockerCoins' deliberate delays need: for a while, or
// until the caller gives up.
package pause

import (
	"context"
	"time"
)

// For waits d, or less if ctx ends first, and then returns ctx's error.
// A d of zero or less does not wait.
func For(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
