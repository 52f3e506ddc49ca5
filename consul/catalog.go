package consul

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/hashicorp/consul/api"
)

// ErrHiddenByACLs is the catalog's answer when Consul's ACLs hid some instances or
// their nodes: the web UI's token must read every service and node it draws.
var ErrHiddenByACLs = errors.New("the Consul token may not read every instance and node")

// Instance is one registered instance of a service, as the web UI draws it.
type Instance struct {
	ID     string // the Consul service ID; Nomad's hold the allocation ID
	Node   string // the Consul node name
	Addr   string // host:port
	Health string // passing, warning or critical: the worst of its checks
}

// Catalog reads instances and their health from a Consul agent's health API,
// which answers for every node of the datacenter.
type Catalog struct {
	health *api.Health
}

// NewCatalog returns a catalog of the agent at addr (host:port or URL);
// CONSUL_HTTP_TOKEN applies, as in every Consul tool.
func NewCatalog(addr string) (*Catalog, error) {
	cfg := api.DefaultConfig()
	cfg.Address = addr
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul client for %s: %w", addr, err)
	}
	return &Catalog{health: c.Health()}, nil
}

// Instances lists service's instances with their health; ErrHiddenByACLs if the token
// may not read them all.
func (c *Catalog) Instances(ctx context.Context, service string) ([]Instance, error) {
	entries, meta, err := c.health.Service(service, "", false, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("instances of %s: %w", service, err)
	}
	// Consul leaves out, without an error, what the token may not read: a page drawing
	// the rest would call running instances unregistered.
	if meta != nil && meta.ResultsFilteredByACLs {
		return nil, fmt.Errorf("instances of %s: %w", service, ErrHiddenByACLs)
	}
	out := make([]Instance, 0, len(entries))
	for _, e := range entries {
		host := e.Service.Address
		if host == "" {
			host = e.Node.Address
		}
		out = append(out, Instance{ID: e.Service.ID, Node: e.Node.Node,
			Addr: net.JoinHostPort(host, strconv.Itoa(e.Service.Port)), Health: e.Checks.AggregatedStatus()})
	}
	return out, nil
}
