package nomad

import (
	"context"
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// Scale sets how many instances of a group run, as `nomad job scale <job> <group>
// <count>` does. It returns the job version the change made, which WaitDeployment
// takes.
func (c *Client) Scale(jobID, group string, count int) (uint64, error) {
	if count < 0 {
		return 0, fmt.Errorf("scale %s/%s: count must be 0 or more, got %d", jobID, group, count)
	}
	resp, _, err := c.api.Jobs().Scale(jobID, group, &count, fmt.Sprintf("scale %s to %d", group, count), false, nil, nil)
	if err != nil {
		return 0, fmt.Errorf("scale %s/%s to %d: %w", jobID, group, count, err)
	}
	job, _, err := c.api.Jobs().Info(jobID, &api.QueryOptions{WaitIndex: resp.JobModifyIndex})
	if err != nil {
		return 0, fmt.Errorf("read job %s: %w", jobID, err)
	}
	return *job.Version, nil
}

// ScaleAndWait scales a group and waits for the deployment of the change.
func (c *Client) ScaleAndWait(ctx context.Context, jobID, group string, count int) error {
	version, err := c.Scale(jobID, group, count)
	if err != nil {
		return err
	}
	return c.WaitDeployment(ctx, jobID, version)
}
