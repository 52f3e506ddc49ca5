package testbed

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// Consul is a dev-mode Consul agent of the test's own (server and client in one, state
// in memory), every port a free one on 127.0.0.1.
type Consul struct {
	HTTPAddr string      // the HTTP API, host:port
	DNSAddr  string      // DNS, udp and tcp, host:port
	Client   *api.Client // talks to HTTPAddr
	args     []string
	t        testing.TB
	proc     *Proc
}

// StartConsul starts an agent and waits until it has elected itself leader and answers
// DNS. extra is added to the agent's command line (e.g. "-hcl", "...").
func StartConsul(t testing.TB, extra ...string) *Consul {
	t.Helper()
	c := NewConsul(t, extra...)
	c.Start()
	return c
}

// NewConsul chooses an agent's ports without starting it, for tests of what happens
// while Consul is not there yet.
func NewConsul(t testing.TB, extra ...string) *Consul {
	t.Helper()
	ports := FreePorts(t, 5) // http, dns, serf lan and wan, server
	port := func() string {
		p := strconv.Itoa(ports[0])
		ports = ports[1:]
		return p
	}
	http, dns := port(), port()
	c := &Consul{
		HTTPAddr: "127.0.0.1:" + http,
		DNSAddr:  "127.0.0.1:" + dns,
		t:        t,
	}
	c.args = append([]string{"agent", "-dev",
		"-node", fmt.Sprintf("test-%s", http),
		"-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", http, "-dns-port", dns,
		"-serf-lan-port", port(), "-serf-wan-port", port(), "-server-port", port(),
		"-grpc-port", "-1", "-grpc-tls-port", "-1",
		"-log-level", "warn",
	}, extra...)
	client, err := api.NewClient(&api.Config{Address: c.HTTPAddr})
	if err != nil {
		t.Fatal(err)
	}
	c.Client = client
	return c
}

// Env is the environment that points a service at this agent: it registers itself
// there and finds its peers through its DNS.
func (c *Consul) Env() []string {
	return []string{"CONSUL_REGISTER=true", "CONSUL_HTTP_ADDR=" + c.HTTPAddr, "CONSUL_DNS_ADDR=" + c.DNSAddr}
}

// Start runs the agent (again, on the same ports) and waits until it is ready.
func (c *Consul) Start() {
	c.t.Helper()
	// CHECKPOINT_DISABLE: no update check over the network.
	c.proc = Start(c.t, "consul", []string{"CHECKPOINT_DISABLE=1"}, Tool(c.t, "consul"), c.args...)
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, c.DNSAddr)
	}}
	Eventually(c.t, 30*time.Second, "consul at %s to elect a leader and answer DNS", func() bool {
		if c.proc.Exited() {
			c.t.Fatalf("consul exited:\n%s", c.proc.Tail(30))
		}
		leader, err := c.Client.Status().Leader()
		if err != nil || leader == "" {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, srvs, err := r.LookupSRV(ctx, "", "", "consul.service.consul.")
		return err == nil && len(srvs) > 0
	}, c.HTTPAddr)
}

// Stop stops the agent; a dev agent forgets every registration.
func (c *Consul) Stop() {
	c.t.Helper()
	c.proc.Stop(10 * time.Second) // a terminated agent exits 1: not a failure
}

// Restart stops the agent and starts a fresh one on the same ports.
func (c *Consul) Restart() {
	c.t.Helper()
	c.Stop()
	c.Start()
}

// RegisterTCP registers an instance of name at addr (host:port) with a TCP check every
// second, as Redis is registered.
func (c *Consul) RegisterTCP(name, addr string) {
	c.t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	err = c.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: name + "-" + port, Name: name, Address: host, Port: p,
		Check: &api.AgentServiceCheck{TCP: addr, Interval: "1s", Timeout: "1s"},
	})
	if err != nil {
		c.t.Fatalf("register %s: %v", name, err)
	}
}

// Passing returns the IDs of name's instances whose checks all pass, sorted.
func (c *Consul) Passing(name string) []string {
	entries, _, err := c.Client.Health().Service(name, "", true, nil)
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Service.ID)
	}
	slices.Sort(ids)
	return ids
}

// WaitPassing waits until name has exactly the instances ids, all passing.
func (c *Consul) WaitPassing(name string, d time.Duration, ids ...string) {
	c.t.Helper()
	ids = slices.Sorted(slices.Values(ids)) // a copy: the caller's order stays
	var got []string
	if Within(d, func() bool { got = c.Passing(name); return slices.Equal(got, ids) }) {
		return
	}
	var checks []string
	entries, _, err := c.Client.Health().Service(name, "", false, nil)
	if err != nil {
		checks = append(checks, err.Error())
	}
	for _, e := range entries {
		for _, ch := range e.Checks {
			checks = append(checks, fmt.Sprintf("%s %s: %s %q", e.Service.ID, ch.CheckID, ch.Status, ch.Output))
		}
	}
	c.t.Fatalf("after %v %s passes as %v, want %v; checks:\n%s", d, name, got, ids, strings.Join(checks, "\n"))
}
