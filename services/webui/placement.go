package webui

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/nomad"
)

// Job is the Nomad job whose groups the page shows and scales.
const Job = "dockercoins"

// Groups are the groups of the job, one per service, in the order the page shows them.
var Groups = []string{dockercoins.RNG, dockercoins.Hasher, dockercoins.Worker, dockercoins.WebUI}

// Instance is one registered instance of a service, as its Consul agent sees it.
type Instance = consul.Instance

// Catalog lists a service's instances with their health: Consul's health API.
type Catalog interface {
	Instances(ctx context.Context, service string) ([]Instance, error)
}

// Scheduler is what the page reads from and asks of Nomad (*nomad.Client).
type Scheduler interface {
	Allocations(jobID string) ([]nomad.Alloc, error)
	Counts(jobID string) (map[string]int, bool, error)
	Scale(jobID, group string, count int) (uint64, error)
}

// Placed is one instance on the page: its health from Consul, its allocation from
// Nomad, either may be missing.
type Placed struct {
	Addr        string   `json:"addr"`
	Health      string   `json:"health"`       // Consul: passing, warning, critical, or "not registered"
	Alloc       string   `json:"alloc"`        // Nomad allocation ID, short; "" outside Nomad
	AllocStatus string   `json:"alloc_status"` // pending, running, unknown...
	LoopsPerSec *float64 `json:"loops_per_s,omitempty"`
}

// NodeGroup is a group's instances on one node.
type NodeGroup struct {
	Node      string   `json:"node"`
	Instances []Placed `json:"instances"`
}

// GroupView is one service on the page.
type GroupView struct {
	Name   string      `json:"name"`
	Wanted *int        `json:"wanted,omitempty"` // the count Nomad keeps, if Nomad answered
	Nodes  []NodeGroup `json:"nodes"`
}

// Placement is what "where it runs" draws. An empty Consul or Nomad means it answered;
// otherwise it says what is missing.
type Placement struct {
	Groups  []GroupView `json:"groups"`
	Consul  string      `json:"consul_error,omitempty"`
	Nomad   string      `json:"nomad_error,omitempty"`
	Scaling Scaling     `json:"scaling"`
}

// placement reads Consul, Nomad and each worker's status, at most once per second
// whatever the number of open pages.
type placement struct {
	log     *slog.Logger
	catalog Catalog
	nomad   Scheduler // nil: no Nomad configured
	workers *workerRates
	scaling Scaling

	mu   sync.Mutex
	last Placement
	at   time.Time
}

func (p *placement) read(ctx context.Context) Placement {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.at) < time.Second {
		return p.last
	}
	out := Placement{Scaling: p.scaling}
	instances := map[string][]Instance{}
	for _, g := range Groups {
		in, err := p.catalog.Instances(ctx, g)
		if err != nil {
			out.Consul = "Consul: " + shortError(err) + ": health is not shown"
			break
		}
		instances[g] = in
	}
	var allocs []nomad.Alloc
	var counts map[string]int
	if p.nomad == nil {
		out.Nomad = "no Nomad configured (NOMAD_ADDR): allocations and counts are not shown"
	} else {
		var err error
		if allocs, err = p.nomad.Allocations(Job); err == nil {
			counts, _, err = p.nomad.Counts(Job)
		}
		if err != nil {
			out.Nomad = "Nomad: " + shortError(err) + ": allocations, counts and scaling are not shown"
			allocs, counts = nil, nil
		}
	}
	for _, g := range Groups {
		view := GroupView{Name: g}
		if n, ok := counts[g]; ok {
			view.Wanted = &n
		}
		view.Nodes = place(instances[g], allocs, g)
		if g == dockercoins.Worker {
			p.workers.fill(ctx, view.Nodes)
		}
		out.Groups = append(out.Groups, view)
	}
	p.last, p.at = out, time.Now()
	return out
}

// place joins a group's Consul instances and Nomad allocations by allocation ID (in
// the IDs Nomad registers services under) and groups them by node, named as Nomad
// names it when Nomad knows the instance.
func place(instances []Instance, allocs []nomad.Alloc, group string) []NodeGroup {
	byNode := map[string][]Placed{}
	seen := map[string]bool{}
	for _, a := range allocs {
		if a.Group != group || a.Desired != "run" || (a.Status != "running" && a.Status != "pending" && a.Status != "unknown") {
			continue
		}
		pl := Placed{Alloc: a.ID[:min(8, len(a.ID))], AllocStatus: a.Status, Health: "not registered", Addr: a.Addrs["http"]}
		for _, in := range instances {
			if strings.Contains(in.ID, a.ID) {
				pl.Health, pl.Addr, seen[in.ID] = in.Health, in.Addr, true
			}
		}
		byNode[a.Node] = append(byNode[a.Node], pl)
	}
	for _, in := range instances {
		if !seen[in.ID] {
			byNode[in.Node] = append(byNode[in.Node], Placed{Addr: in.Addr, Health: in.Health})
		}
	}
	var out []NodeGroup
	for node, pls := range byNode {
		slices.SortFunc(pls, func(a, b Placed) int { return cmp.Compare(a.Addr, b.Addr) })
		out = append(out, NodeGroup{Node: node, Instances: pls})
	}
	slices.SortFunc(out, func(a, b NodeGroup) int { return cmp.Compare(a.Node, b.Node) })
	return out
}

// shortError says in a few words why a backend did not answer, without its address:
// the page is open to anyone, and the log keeps the whole error.
func shortError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		var op *net.OpError
		if errors.As(ue.Err, &op) {
			return "cannot reach it: " + op.Err.Error()
		}
		return "cannot reach it: " + platform.Redact(ue.Err)
	}
	return platform.Redact(err)
}

func (p *placement) handle(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, p.read(r.Context()))
}
