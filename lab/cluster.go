package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Cluster says where the multi-node lab of `make cluster` runs: a server node (the
// Consul and Nomad servers) at <prefix>.2 and client nodes n1, n2, ... at <prefix>.11,
// .12, ..., each in a network namespace of its own on one bridge, with its own Consul
// agent and Nomad client.
type Cluster struct {
	Root  string // the repository, for lab/provision and the agent configs
	State string // one folder per node: configs, data, logs, pid files
	Nodes int
	Net   *Net // the network the nodes join
	Tools Tools

	// BinDir holds the services' binaries, which the clients' exec chroot takes (see
	// WriteDriverConfig); default <Root>/bin.
	BinDir string

	acl      *ConsulACL // once the server is provisioned
	nomadACL *NomadACL
}

// MaxNodes bounds a cluster's size: the client addresses must fit in the range.
const MaxNodes = 50

// LabNet is the network of `make cluster`: bridge dc-br on 10.199.0.0/24, namespaces
// dc-server, dc-n1, ...
func LabNet() *Net { return &Net{Prefix: "10.199.0", Bridge: "dc-br", Tag: "dc-"} }

// ServerIP is the address of a cluster's server node on net.
func ServerIP(net *Net) string { return net.Prefix + ".2" }

// ClientNode is client node n<i> of a cluster on net (i from 1), as StartCluster
// creates it.
func ClientNode(net *Net, i int) *Node { return net.Node(fmt.Sprintf("n%d", i), 10+i) }

// StartCluster creates the nodes on c.Net, provisions each with lab/provision/node.sh
// (the script the Vagrant VMs run) and starts its agents, then waits until every
// client is ready.
func StartCluster(ctx context.Context, c Cluster) (*Stack, error) {
	if c.Nodes < 1 || c.Nodes > MaxNodes {
		return nil, fmt.Errorf("nodes must be 1 to %d, got %d", MaxNodes, c.Nodes)
	}
	state, err := filepath.Abs(c.State)
	if err != nil {
		return nil, err
	}
	c.State = state
	server, err := c.Net.AddNode("server", 2)
	if err != nil {
		return nil, err
	}
	if err := c.provision(ctx, server, "server", "server"); err != nil {
		return nil, err
	}
	for i := 1; i <= c.Nodes; i++ {
		name := fmt.Sprintf("n%d", i)
		node, err := c.Net.AddNode(name, 10+i) // as ClientNode names it
		if err != nil {
			return nil, err
		}
		if err := c.provision(ctx, node, name, "client"); err != nil {
			return nil, err
		}
	}
	s, err := newStack(server.IP)
	if err != nil {
		return nil, err
	}
	s.ConsulACL, s.NomadACL = c.acl, c.nomadACL
	s.Nomad.SetToken(c.nomadACL.Management)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := s.Nomad.WaitNodes(ctx, c.Nodes); err != nil {
		return nil, err
	}
	return s, WriteSecrets(ctx, s)
}

// provision renders a node's agent configs with node.sh and starts its agents in the
// node's namespace: Consul, its ACL tokens, then Nomad. The server's Consul and Nomad
// are bootstrapped there, their management tokens kept in <State>/consul-management.token
// and <State>/nomad-management.token.
func (c *Cluster) provision(ctx context.Context, node *Node, name, roles string) error {
	script := filepath.Join(c.Root, "lab", "provision", "node.sh")
	cmd := node.Command(script, name, node.IP, ServerIP(c.Net), roles)
	cmd.Env = append(os.Environ(), "LAB_INIT=none", "LAB_STATE="+c.State)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", script, name, err, out)
	}
	if roles == "client" {
		conf := filepath.Join(c.State, name, "nomad.d", "drivers.hcl")
		if err := WriteDriverConfig(conf, false, taskChroot(c.Root, c.BinDir, c.Tools)); err != nil {
			return err
		}
	}
	agents := c.agents(node, name)
	if err := agents[0].Start(ctx); err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	// Consul's ACLs come first: Nomad's agent needs its Consul token from the start.
	consulAddr := "http://" + node.IP + ":8500"
	if roles == "server" {
		acl, err := BootstrapConsul(ctx, consulAddr, c.State)
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		c.acl = acl
	} else if err := c.acl.SetAgentToken(consulAddr); err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	if err := c.acl.writeNomadConsulToken(filepath.Join(c.State, name, "nomad.d", "consul-token.hcl")); err != nil {
		return err
	}
	if err := agents[1].Start(ctx); err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	if roles == "server" {
		acl, err := BootstrapNomad(ctx, "http://"+node.IP+":4646", c.State)
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		c.nomadACL = acl
	}
	return nil
}

// agents are the Consul and Nomad agents of a node, as provision starts them.
func (c Cluster) agents(node *Node, name string) []Agent {
	dir := filepath.Join(c.State, name)
	agents := []Agent{
		// Ready once the agent knows the leader: it has joined (and, the ACLs being on,
		// the agent's own endpoints want a token).
		{Name: "consul", Args: []string{c.Tools.Consul, "agent", "-config-dir", filepath.Join(dir, "consul.d")},
			Ready: answering("http://"+node.IP+":8500/v1/status/leader", `""`)},
		// Ready once it knows a server (a client) or a leader (the server): the health
		// endpoint is the one that answers without an ACL token.
		{Name: "nomad", Args: []string{c.Tools.Nomad, "agent", "-config", filepath.Join(dir, "nomad.d")},
			Ready: answering("http://"+node.IP+":4646/v1/agent/health", "")},
	}
	for i := range agents {
		agents[i].State, agents[i].Netns = dir, node.Name
	}
	return agents
}

// RestartAgent stops the consul or nomad agent of client node n<i> (SIGINT, as an
// operator's restart does) and starts it again with the same configuration and data.
func (c Cluster) RestartAgent(ctx context.Context, i int, agent string) error {
	name := fmt.Sprintf("n%d", i)
	for _, a := range c.agents(ClientNode(c.Net, i), name) {
		if a.Name != agent {
			continue
		}
		if pid, ok := readPid(a.pidfile()); ok {
			stopPid(pid)
		}
		return a.Start(ctx)
	}
	return fmt.Errorf("node %s has no %s agent", name, agent)
}

// StopCluster stops the app (so the workers flush), every node's agents and what they
// left running, deletes the network and removes the state folder.
func StopCluster(ctx context.Context, net *Net, state string) error {
	token, err := ReadNomadToken(state)
	errs := []error{err, stopJobs(ctx, ServerIP(net), token)}
	dirs, _ := filepath.Glob(filepath.Join(state, "n[0-9]*"))
	errs = append(errs, StopAll(dirs), StopAgents(filepath.Join(state, "server")))
	errs = append(errs, net.Delete(), os.RemoveAll(state))
	return errors.Join(errs...)
}

// ClusterUp is `make cluster`: a new network for the lab, the cluster on it and the app,
// every job healthy. It prints its progress to out.
func ClusterUp(ctx context.Context, c Cluster, a App, out io.Writer) (*Stack, error) {
	net, err := CreateNet(c.Net.Bridge, c.Net.Prefix, c.Net.Tag)
	if errors.Is(err, ErrNetExists) {
		return nil, fmt.Errorf("%s exists: a cluster is up (make cluster-down first)", c.Net.Bridge)
	}
	if err != nil {
		return nil, err
	}
	c.Net = net
	fmt.Fprintf(out, "starting the servers at %s and %d client nodes...\n", ServerIP(net), c.Nodes)
	s, err := StartCluster(ctx, c)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "running the redis, jaeger and dockercoins jobs...")
	return s, Deploy(ctx, s, a)
}
