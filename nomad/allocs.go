package nomad

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"

	"github.com/dockercoins/dockercoins/internal/poll"
	"github.com/hashicorp/nomad/api"
)

// Alloc is one allocation: an instance of a group, on a node.
type Alloc struct {
	ID      string
	Group   string
	Node    string // the node's name
	NodeID  string
	Version uint64            // the job version it runs
	Status  string            // client status: pending, running, complete, failed, lost
	Desired string            // desired status: run, stop, evict
	Healthy bool              // healthy in its deployment (its checks passed for min_healthy_time)
	Addrs   map[string]string // port label -> host:port
}

// Running reports whether the allocation runs and is meant to.
func (a Alloc) Running() bool {
	return a.Status == api.AllocClientStatusRunning && a.Desired == api.AllocDesiredStatusRun
}

// Allocations lists every allocation of a job, of every version, running or not,
// oldest first.
func (c *Client) Allocations(jobID string) ([]Alloc, error) {
	// The job's own allocation list leaves out resources, where the ports are.
	stubs, _, err := c.api.Allocations().List(&api.QueryOptions{
		Filter: fmt.Sprintf("JobID == %q", jobID),
		Params: map[string]string{"resources": "true", "task_states": "false"},
	})
	if err != nil {
		return nil, fmt.Errorf("allocations of %s: %w", jobID, err)
	}
	slices.SortFunc(stubs, func(a, b *api.AllocationListStub) int { return int(a.CreateIndex) - int(b.CreateIndex) })
	out := make([]Alloc, 0, len(stubs))
	for _, s := range stubs {
		a := Alloc{
			ID: s.ID, Group: s.TaskGroup, Node: s.NodeName, NodeID: s.NodeID, Version: s.JobVersion,
			Status: s.ClientStatus, Desired: s.DesiredStatus, Addrs: map[string]string{},
		}
		if s.DeploymentStatus != nil && s.DeploymentStatus.Healthy != nil {
			a.Healthy = *s.DeploymentStatus.Healthy
		}
		if s.AllocatedResources != nil {
			for _, p := range s.AllocatedResources.Shared.Ports {
				a.Addrs[p.Label] = net.JoinHostPort(p.HostIP, strconv.Itoa(p.Value))
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// Running lists the allocations of a group that run and are meant to.
func (c *Client) Running(jobID, group string) ([]Alloc, error) {
	all, err := c.Allocations(jobID)
	if err != nil {
		return nil, err
	}
	var out []Alloc
	for _, a := range all {
		if a.Group == group && a.Running() {
			out = append(out, a)
		}
	}
	return out, nil
}

// WaitRunning waits until exactly n allocations of a group run and every one is healthy,
// and returns them.
func (c *Client) WaitRunning(ctx context.Context, jobID, group string, n int) ([]Alloc, error) {
	var got []Alloc
	err := poll.Until(ctx, fmt.Sprintf("%d healthy %s/%s allocations", n, jobID, group), pollEvery, func() (bool, string, error) {
		running, err := c.Running(jobID, group)
		if err != nil {
			return false, "", err
		}
		healthy := 0
		for _, a := range running {
			if a.Healthy {
				healthy++
			}
		}
		got = running
		return len(running) == n && healthy == n, fmt.Sprintf("%d running, %d healthy", len(running), healthy), nil
	})
	return got, err
}

// TaskLog reads everything a task of an allocation wrote to stdout or stderr, through
// the agent, which fetches it from the allocation's node (the node must be up).
func (c *Client) TaskLog(allocID, task, stream string) (string, error) {
	alloc, _, err := c.api.Allocations().Info(allocID, nil)
	if err != nil {
		return "", fmt.Errorf("allocation %s: %w", allocID, err)
	}
	cancel := make(chan struct{})
	frames, errc := c.api.AllocFS().Logs(alloc, false, task, stream, api.OriginStart, 0, cancel, nil)
	r := api.NewFrameReader(frames, errc, cancel)
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("%s log of %s in allocation %s: %w", stream, task, allocID, err)
	}
	return string(b), nil
}

// WaitNodes waits until n client nodes are ready and eligible, and returns their names.
func (c *Client) WaitNodes(ctx context.Context, n int) ([]string, error) {
	var names []string
	err := poll.Until(ctx, fmt.Sprintf("%d ready nodes", n), pollEvery, func() (bool, string, error) {
		nodes, _, err := c.api.Nodes().List(nil)
		if err != nil {
			return false, "", nil // the agent may still be starting
		}
		names = names[:0]
		for _, nd := range nodes {
			if nd.Status == api.NodeStatusReady && nd.SchedulingEligibility == api.NodeSchedulingEligible {
				names = append(names, nd.Name)
			}
		}
		slices.Sort(names)
		return len(names) == n, fmt.Sprintf("ready: %v", names), nil
	})
	return names, err
}
