// Package nomad runs DockerCoins' job files on a Nomad cluster through Nomad's HTTP API
// (github.com/hashicorp/nomad/api): it parses a job file through the agent with HCL2
// variables, registers it and waits for a healthy deployment, scales a group, and lists
// allocations with the nodes they run on. Package lab (behind `make up`, `make scale`,
// `make cluster`), the tests and the benchmarks share it.
package nomad

import (
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"
)

// Client talks to one Nomad agent.
type Client struct {
	api *api.Client
}

// New returns a client of the agent at addr (e.g. http://127.0.0.1:4646); an empty addr
// means NOMAD_ADDR, or Nomad's default.
func New(addr string) (*Client, error) {
	cfg := api.DefaultConfig()
	if addr != "" {
		cfg.Address = addr
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("nomad client for %s: %w", cfg.Address, err)
	}
	return &Client{api: c}, nil
}

// API is the underlying client, for what this package does not cover.
func (c *Client) API() *api.Client { return c.api }

// pollEvery is how often waits look at the cluster again.
const pollEvery = 250 * time.Millisecond

// SetToken makes the client send an ACL token with every request (NOMAD_TOKEN as the
// nomad CLI reads it); an empty token leaves the client as it is.
func (c *Client) SetToken(token string) {
	if token != "" {
		c.api.SetSecretID(token)
	}
}
