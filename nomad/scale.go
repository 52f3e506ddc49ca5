package nomad

import (
	"context"
	"fmt"
)

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
