package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/dockercoins/dockercoins/nomad"
)

// Tools are the paths of the pinned binaries the stacks run.
type Tools struct {
	Consul, Nomad, Jaeger string
}

// FindTools looks the pinned binaries up on PATH (the Makefile puts
// ~/.cache/dockercoins/bin first): the named ones, or all three.
func FindTools(names ...string) (Tools, error) {
	if len(names) == 0 {
		names = []string{"consul", "nomad", "jaeger"}
	}
	var t Tools
	dst := map[string]*string{"consul": &t.Consul, "nomad": &t.Nomad, "jaeger": &t.Jaeger}
	for _, name := range names {
		if dst[name] == nil {
			return t, fmt.Errorf("no tool named %q", name)
		}
		p, err := exec.LookPath(name)
		if err != nil {
			return t, fmt.Errorf("%s not found on PATH (make tools)", name)
		}
		*dst[name] = p
	}
	return t, nil
}

// JaegerBuilt reports whether the Jaeger binary exists yet: make up names the one it
// will build and runs the app before it is built.
func (t Tools) JaegerBuilt() bool {
	_, err := os.Stat(t.Jaeger)
	return t.Jaeger != "" && err == nil
}

// Stack is a running Consul and Nomad: `make up`'s dev agents or `make cluster`'s
// servers.
type Stack struct {
	IP         string        // where the servers answer
	NomadAddr  string        // http://<ip>:4646
	ConsulAddr string        // http://<ip>:8500
	ConsulDNS  string        // <ip>:8600
	Nomad      *nomad.Client // with the management token where Nomad's ACLs are on
	ConsulACL  *ConsulACL    // the operator's (management) token
	NomadACL   *NomadACL     // nil: Nomad's ACLs are off (make up)
	Driver     string        // the app's task driver, where Up chose it
}

func newStack(ip string) (*Stack, error) {
	s := &Stack{IP: ip, NomadAddr: "http://" + ip + ":4646", ConsulAddr: "http://" + ip + ":8500", ConsulDNS: ip + ":8600"}
	c, err := nomad.New(s.NomadAddr)
	s.Nomad = c
	return s, err
}

// Dev says where the single-node stack of `make up` runs.
type Dev struct {
	Root  string // the repository, for lab/nomad/dev.hcl
	State string // agent logs, pid files and Nomad's data
	IP    string // the address both agents bind; default 127.0.0.1
	Netns string // the network namespace holding IP; empty: this one
	Tools Tools

	// What exec tasks may run (their chroot holds only these) and whether raw_exec is
	// on (see WriteDriverConfig).
	BinDir  string // the services' binaries; default <Root>/bin
	RawExec bool
}

// StartDev starts a Consul dev agent and a Nomad dev agent (server and client in one)
// and waits until the Nomad client is ready. It refuses to start beside a Consul or
// Nomad it did not start, which would be mistaken for its own.
func StartDev(ctx context.Context, d Dev) (*Stack, error) {
	if d.IP == "" {
		d.IP = "127.0.0.1"
	}
	state, err := filepath.Abs(d.State)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	s, err := newStack(d.IP)
	if err != nil {
		return nil, err
	}
	for _, a := range []struct{ name, url string }{
		{"consul", s.ConsulAddr + "/v1/status/leader"}, // answers whatever the ACLs
		{"nomad", s.NomadAddr + "/v1/agent/self"},
	} {
		if _, mine := readPid(filepath.Join(state, a.name+".pid")); !mine && answering(a.url, "")(ctx) == nil {
			return nil, fmt.Errorf("a %s agent not started by make up answers at %s; stop it first", a.name, a.url)
		}
	}
	iface, err := ifaceOf(d.Netns, d.IP)
	if err != nil {
		return nil, err
	}
	drivers := filepath.Join(state, "drivers.hcl")
	if err := WriteDriverConfig(drivers, d.RawExec, taskChroot(d.Root, d.BinDir, d.Tools)); err != nil {
		return nil, err
	}
	client := "127.0.0.1"
	if d.IP != "127.0.0.1" {
		client += " " + d.IP
	}
	consulAgent := Agent{
		Name: "consul", State: state, Netns: d.Netns, Ready: answering(s.ConsulAddr+"/v1/status/leader", `""`),
		Args: []string{d.Tools.Consul, "agent", "-dev", "-log-level", "info", "-bind", d.IP, "-client", client,
			"-hcl", DevDNSConfig, "-hcl", devACL},
	}
	if err := consulAgent.Start(ctx); err != nil {
		return nil, err
	}
	if s.ConsulACL, err = BootstrapConsul(ctx, s.ConsulAddr, state); err != nil {
		return nil, err
	}
	nomadToken := filepath.Join(state, "nomad-consul.hcl")
	if err := s.ConsulACL.writeNomadConsulToken(nomadToken); err != nil {
		return nil, err
	}
	nomadAgent := Agent{
		Name: "nomad", State: state, Netns: d.Netns, Ready: answering(s.NomadAddr+"/v1/agent/self", ""),
		Args: []string{d.Tools.Nomad, "agent", "-dev", "-bind", d.IP, "-network-interface", iface,
			"-data-dir", filepath.Join(state, "nomad"), "-log-level", "INFO",
			"-config", filepath.Join(d.Root, "lab", "nomad", "dev.hcl"), "-config", nomadToken, "-config", drivers},
	}
	if err := nomadAgent.Start(ctx); err != nil {
		return nil, err
	}
	if _, err := s.Nomad.WaitNodes(ctx, 1); err != nil {
		return nil, fmt.Errorf("the Nomad dev agent's client: %w", err)
	}
	return s, WriteSecrets(ctx, s)
}

// DevDNSConfig is the dev agent's Consul DNS, as every lab agent's
// (lab/consul/agent.hcl): only instances whose checks pass; and an answer too big for
// UDP (about 25 SRV records) says so with the truncated bit, so that dig and other
// resolvers ask again over TCP, where Consul omits nothing. Without it Consul trims the
// answer silently.
const DevDNSConfig = `dns_config { only_passing = true, enable_truncate = true }`

// devACL turns the dev agent's ACLs on, denying what no token allows, as every
// stack's agents do (lab/consul/agent.hcl); BootstrapConsul does the rest.
const devACL = `acl { enabled = true, default_policy = "deny", down_policy = "extend-cache" }`

// ifaceOf names the interface holding ip in namespace ns.
func ifaceOf(ns, ip string) (string, error) {
	args := []string{"-o", "-4", "addr", "show"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	out, err := exec.Command("ip", args...).Output()
	if err != nil {
		return "", fmt.Errorf("ip %s: %w", strings.Join(args, " "), err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && strings.HasPrefix(f[3], ip+"/") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("no interface holds %s", ip)
}
