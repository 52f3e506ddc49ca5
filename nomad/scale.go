package nomad

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotRunning is what ScaleInSteps says of a job that is not registered, or stopped.
var ErrNotRunning = errors.New("the job does not run")

// Scale sets how many instances of a group run, as `nomad job scale <job> <group>
// <count>` does. It returns the job version the change made, which WaitDeployment
// takes. Nomad refuses a scale request while a deployment of the job is running: wait
// for the previous one first.
func (c *Client) Scale(jobID, group string, count int) (uint64, error) {
	if count < 0 {
		return 0, fmt.Errorf("scale %s/%s: count must be 0 or more, got %d", jobID, group, count)
	}
	_, _, err := c.api.Jobs().Scale(jobID, group, &count, fmt.Sprintf("scale %s to %d", group, count), false, nil, nil)
	if err != nil {
		return 0, fmt.Errorf("scale %s/%s to %d: %w", jobID, group, count, err)
	}
	return c.version(jobID)
}

// ScaleAndWait scales a group and waits for the deployment of the change.
func (c *Client) ScaleAndWait(ctx context.Context, jobID, group string, count int) error {
	version, err := c.Scale(jobID, group, count)
	if err != nil {
		return err
	}
	return c.WaitDeployment(ctx, jobID, version)
}

// ScaleInSteps scales a group up at most step instances at a time, waiting for each
// step's deployment before the next, and calls done with each count reached. Scaling
// down, or up by no more than step, is one step. Placing a whole jump at once starts
// every task together: 200 workers at once overloaded a 2-core cluster until its
// nodes missed their heartbeats.
func (c *Client) ScaleInSteps(ctx context.Context, jobID, group string, count, step int, done func(int)) error {
	if step < 1 {
		return fmt.Errorf("scale %s/%s: step must be 1 or more, got %d", jobID, group, step)
	}
	counts, found, err := c.Counts(jobID)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("scale %s/%s: %w", jobID, group, ErrNotRunning)
	}
	cur, ok := counts[group]
	if !ok {
		return fmt.Errorf("scale %s/%s: the job has no such group", jobID, group)
	}
	for {
		next := min(count, cur+step)
		if err := c.ScaleAndWait(ctx, jobID, group, next); err != nil {
			return err
		}
		if done != nil {
			done(next)
		}
		if next == count {
			return nil
		}
		cur = next
	}
}
