package nomad

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dockercoins/dockercoins/internal/poll"
	"github.com/hashicorp/nomad/api"
)

// WaitDeployment waits until the deployment of a job's version has succeeded: every
// group placed and healthy by its checks. A deployment that fails or is cancelled is an
// error naming the groups and why.
func (c *Client) WaitDeployment(ctx context.Context, jobID string, version uint64) error {
	what := fmt.Sprintf("the deployment of %s version %d", jobID, version)
	var last *api.Deployment // the one seen last, asked why it failed only at the end
	err := poll.Until(ctx, what, pollEvery, func() (bool, string, error) {
		deps, _, err := c.api.Jobs().Deployments(jobID, false, nil)
		if err != nil {
			return false, "", fmt.Errorf("deployments of %s: %w", jobID, err)
		}
		i := slices.IndexFunc(deps, func(d *api.Deployment) bool { return d.JobVersion == version })
		if i < 0 {
			return false, "no deployment yet", nil
		}
		d := deps[i]
		last = d
		switch d.Status {
		case api.DeploymentStatusSuccessful:
			return true, "", nil
		case api.DeploymentStatusFailed, api.DeploymentStatusCancelled:
			return false, "", fmt.Errorf("%s: %s: %s (%s%s)", what, d.Status, d.StatusDescription, progress(d), c.lastFailure(d))
		}
		return false, progress(d), nil
	})
	if err != nil && ctx.Err() != nil && last != nil {
		return fmt.Errorf("%w%s", err, c.lastFailure(last))
	}
	return err
}

// progress says how far each group of a deployment is.
func progress(d *api.Deployment) string {
	var parts []string
	for _, g := range slices.Sorted(maps.Keys(d.TaskGroups)) {
		s := d.TaskGroups[g]
		parts = append(parts, fmt.Sprintf("%s %d/%d healthy, %d unhealthy", g, s.HealthyAllocs, s.DesiredTotal, s.UnhealthyAllocs))
	}
	return d.Status + ": " + strings.Join(parts, "; ")
}

// lastFailure is the latest task event that says why an allocation of d failed, as
// "; last failure: <task>: <event>", or "" when none is unhealthy: a deployment that
// never turns healthy should say why without a trip to `nomad alloc status`.
func (c *Client) lastFailure(d *api.Deployment) string {
	unhealthy := 0
	for _, g := range d.TaskGroups {
		unhealthy += g.UnhealthyAllocs
	}
	if unhealthy == 0 {
		return ""
	}
	allocs, _, err := c.api.Deployments().Allocations(d.ID, nil)
	if err != nil {
		return ""
	}
	var last *api.TaskEvent
	var task string
	for _, a := range allocs {
		for name, ts := range a.TaskStates {
			for _, e := range ts.Events {
				switch e.Type {
				case api.TaskDriverFailure, api.TaskSetupFailure, api.TaskTerminated, api.TaskArtifactDownloadFailed, api.TaskFailedValidation:
				default:
					continue // "Not Restarting" and the like say what Nomad did, not why
				}
				if last == nil || e.Time > last.Time {
					last, task = e, name
				}
			}
		}
	}
	if last == nil {
		return ""
	}
	return fmt.Sprintf("; last failure: %s: %s: %s", task, last.Type, last.DisplayMessage)
}
