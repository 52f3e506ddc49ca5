package nomad

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/dockercoins/dockercoins/internal/poll"
	"github.com/hashicorp/nomad/api"
)

// Vars are values for a job file's HCL2 variables, as `nomad job run -var name=value`
// gives them: strings that Nomad converts to each variable's declared type.
type Vars map[string]string

// hcl writes the variables as the content of a variables file.
func (v Vars) hcl() string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(v)) {
		fmt.Fprintf(&b, "%s = %s\n", name, quote(v[name]))
	}
	return b.String()
}

// quote makes an HCL string literal of s: escapes as in Go, plus the template
// sequences, so a value is taken literally.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case (c == '$' || c == '%') && i+1 < len(s) && s[i+1] == '{':
			b.WriteByte(c)
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Parse turns an HCL2 job specification into a job, through the agent (so the agent's
// own parser and Nomad version decide), with vars for its variables.
func (c *Client) Parse(src string, vars Vars) (*api.Job, error) {
	job, err := c.api.Jobs().ParseHCLOpts(&api.JobsParseRequest{
		JobHCL:       src,
		Variables:    vars.hcl(),
		Canonicalize: true,
	})
	if err != nil {
		return nil, fmt.Errorf("parse job: %w", err)
	}
	return job, nil
}

// ParseFile parses the job file at path; see Parse.
func (c *Client) ParseFile(path string, vars Vars) (*api.Job, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	job, err := c.Parse(string(src), vars)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return job, nil
}

// Validate asks the agent to validate a job, as `nomad job validate` does. It returns
// the validation errors joined, or nil; warnings are returned separately.
func (c *Client) Validate(job *api.Job) (warnings string, err error) {
	resp, _, err := c.api.Jobs().Validate(job, nil)
	if err != nil {
		return "", fmt.Errorf("validate job %s: %w", name(job), err)
	}
	var errs []error
	for _, e := range resp.ValidationErrors {
		errs = append(errs, errors.New(e))
	}
	if resp.Error != "" && len(errs) == 0 {
		errs = append(errs, errors.New(resp.Error))
	}
	if len(errs) > 0 {
		return resp.Warnings, fmt.Errorf("job %s is not valid: %w", name(job), errors.Join(errs...))
	}
	return resp.Warnings, nil
}

// Register submits a job (a new one, or a new version of one) and returns the job
// version it became.
func (c *Client) Register(job *api.Job) (version uint64, err error) {
	if _, _, err := c.api.Jobs().Register(job, nil); err != nil {
		return 0, fmt.Errorf("register job %s: %w", name(job), err)
	}
	return c.version(name(job))
}

// version reads a job's current version. Reads go to the leader, which has applied a
// write before answering it, so this is the version a write just made.
func (c *Client) version(jobID string) (uint64, error) {
	job, _, err := c.api.Jobs().Info(jobID, nil)
	if err != nil {
		return 0, fmt.Errorf("read job %s: %w", jobID, err)
	}
	return *job.Version, nil
}

// Run registers a job and waits until its deployment is healthy, as `nomad job run`
// does; it returns the job version deployed.
func (c *Client) Run(ctx context.Context, job *api.Job) (uint64, error) {
	version, err := c.Register(job)
	if err != nil {
		return 0, err
	}
	return version, c.WaitDeployment(ctx, name(job), version)
}

// Stop deregisters a job, as `nomad job stop` does: Nomad stops every allocation with
// the tasks' kill signal. It waits until none is left running, so a stopped worker has
// flushed its count and written its last log line.
func (c *Client) Stop(ctx context.Context, jobID string) error {
	if _, _, err := c.api.Jobs().Deregister(jobID, false, nil); err != nil {
		return fmt.Errorf("stop job %s: %w", jobID, err)
	}
	return poll.Until(ctx, "job "+jobID+" to stop", pollEvery, func() (bool, string, error) {
		allocs, err := c.Allocations(jobID)
		if err != nil {
			return false, "", err
		}
		running := 0
		for _, a := range allocs {
			if a.Status == api.AllocClientStatusRunning || a.Status == api.AllocClientStatusPending {
				running++
			}
		}
		return running == 0, fmt.Sprintf("%d allocations still running", running), nil
	})
}

func name(job *api.Job) string {
	if job.ID != nil {
		return *job.ID
	}
	if job.Name != nil {
		return *job.Name
	}
	return "(unnamed)"
}
