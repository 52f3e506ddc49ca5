// Package poll waits for a condition by checking it again and again: the one polling
// loop of the project, for the Nomad client, the lab's agents and faults, and the tests.
package poll

import (
	"context"
	"fmt"
	"time"
)

// Until calls check every interval until it reports done or an error, or ctx ends. The
// error on ctx's end names what was awaited and the last state check described.
func Until(ctx context.Context, what string, every time.Duration, check func() (done bool, state string, err error)) error {
	for {
		done, state, err := check()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			if state != "" {
				return fmt.Errorf("waiting for %s: %w (last seen: %s)", what, ctx.Err(), state)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(every):
		}
	}
}

// Within checks cond every interval for up to d (less if ctx ends first) and reports
// whether it came to hold.
func Within(ctx context.Context, d, every time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return Until(ctx, "", every, func() (bool, string, error) { return cond(), "", nil }) == nil
}
