package nomad

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hashicorp/nomad/api"
)

// Counts returns how many instances of each group of a job are wanted. found is false
// when no such job is registered (or it was stopped), which is no error.
func (c *Client) Counts(jobID string) (counts map[string]int, found bool, err error) {
	job, _, err := c.api.Jobs().Info(jobID, nil)
	var unexpected api.UnexpectedResponseError
	if errors.As(err, &unexpected) && unexpected.StatusCode() == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read job %s: %w", jobID, err)
	}
	if job.Stop != nil && *job.Stop {
		return nil, false, nil
	}
	counts = map[string]int{}
	for _, g := range job.TaskGroups {
		if g.Name != nil && g.Count != nil {
			counts[*g.Name] = *g.Count
		}
	}
	return counts, true, nil
}
