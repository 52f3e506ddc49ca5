package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
)

// NomadDev is the single-node stack of `make up` (lab.StartDev), in a network namespace
// of the test's own, so the jobs' fixed ports (webui 8000, Jaeger 16686) are free.
type NomadDev struct {
	Node      *Node
	Dev       lab.Dev // what lab.Up and lab.Down take
	Nomad     *nomad.Client
	NomadAddr string // http://<ip>:4646
	ConsulDNS string // <ip>:8600
}

// DevSpec makes a namespace and a state folder for the dev stack, without starting
// it, and brings down whatever runs there (lab.Down) when the test ends.
func DevSpec(t testing.TB) *NomadDev {
	t.Helper()
	state := stateDir(t)
	node, err := NewNet(t).AddNode("dev", 2)
	if err != nil {
		t.Fatal(err)
	}
	d := &NomadDev{Node: node, NomadAddr: "http://" + node.IP + ":4646", ConsulDNS: node.IP + ":8600"}
	d.Dev = lab.Dev{Root: Root(), State: state, IP: node.IP, Netns: node.Name, Tools: Tools(t),
		BinDir: filepath.Dir(Binary(t, "worker"))}
	d.Nomad = nomadClient(t, d.NomadAddr)
	t.Cleanup(func() {
		showLogs(t, state)
		lab.Down(context.Background(), d.Dev)
	})
	return d
}

// StartNomadDev starts the dev agents, as `make up` does, and waits until the Nomad
// client is ready. The agents, and anything Nomad still runs, stop when the test ends.
func StartNomadDev(t testing.TB) *NomadDev {
	t.Helper()
	d := DevSpec(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := lab.StartDev(ctx, d.Dev); err != nil {
		t.Fatal(err)
	}
	return d
}

// Tools are the pinned consul, nomad and jaeger.
func Tools(t testing.TB) lab.Tools {
	return lab.Tools{Consul: Tool(t, "consul"), Nomad: Tool(t, "nomad"), Jaeger: Tool(t, "jaeger")}
}

// NomadCluster is the multi-node lab of `make cluster` (lab.StartCluster): the Consul
// and Nomad servers on one node, and clients n1, n2, ... each on a node of its own with
// its own Consul agent, every node provisioned by lab/provision/node.sh.
type NomadCluster struct {
	Server    *Node
	Clients   map[string]*Node // by Nomad node name
	Nomad     *nomad.Client
	NomadAddr string
	ConsulDNS string      // the Consul server's DNS, which sees every node's services
	Lab       lab.Cluster // what it was started from, for what takes a lab cluster (lab.Chaos)
	Stack     *lab.Stack
	state     string
}

// StartNomadCluster starts a server node and n client nodes and waits until every
// client is ready. It all stops when the test ends.
func StartNomadCluster(t testing.TB, n int) *NomadCluster {
	t.Helper()
	state := stateDir(t)
	net := NewNet(t)
	t.Cleanup(func() {
		showLogs(t, state)
		lab.StopCluster(context.Background(), net, state)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec := lab.Cluster{Root: Root(), State: state, Nodes: n, Net: net, Tools: Tools(t),
		BinDir: filepath.Dir(Binary(t, "worker"))}
	s, err := lab.StartCluster(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	c := &NomadCluster{Server: net.Node("server", 2), Clients: map[string]*Node{}, state: state,
		Nomad: s.Nomad, NomadAddr: s.NomadAddr, ConsulDNS: s.ConsulDNS, Lab: spec, Stack: s}
	for i := 1; i <= n; i++ {
		c.Clients[fmt.Sprintf("n%d", i)] = lab.ClientNode(net, i)
	}
	return c
}

// ShutDown takes a client node away as a machine going down does: its Nomad and Consul
// agents die first (SIGKILL: they neither drain, deregister nor leave), then its tasks
// get SIGTERM, as at a shutdown, and have up to grace to exit before everything left in
// the node is killed. Nomad finds the node gone only when its heartbeats stop.
func (c *NomadCluster) ShutDown(t testing.TB, name string, grace time.Duration) {
	t.Helper()
	node := c.Clients[name]
	for _, agent := range []string{"nomad", "consul"} {
		b, err := os.ReadFile(filepath.Join(c.state, name, agent+".pid"))
		if err != nil {
			t.Fatalf("%s agent of %s: %v", agent, name, err)
		}
		var pid int
		fmt.Sscan(string(b), &pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	tasks := func() []int {
		var pids []int
		for _, pid := range node.Pids() {
			if lab.HasEnv(pid, "NOMAD_ALLOC_ID") {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	for _, pid := range tasks() {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	Within(grace, func() bool { return len(tasks()) == 0 })
	// The log collectors write a task's last lines after it exits.
	time.Sleep(time.Second)
	node.KillAll(syscall.SIGKILL)
}

// AllocFile is the path of a file in an allocation's folder on a client node, for
// reading what an allocation left on a node the API can no longer reach.
func (c *NomadCluster) AllocFile(node, allocID, path string) string {
	return filepath.Join(c.state, node, "data", "nomad", "alloc", allocID, path)
}

// stateDir is a folder for the agents' configs, data and logs, removed when the test
// ends. Its path is short: Nomad puts unix sockets in allocation folders, and a socket
// path may not exceed 108 bytes.
func stateDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirTag, os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// showLogs shows the end of each agent's log under state if the test failed.
func showLogs(t testing.TB, state string) {
	if !t.Failed() {
		return
	}
	logs, _ := filepath.Glob(filepath.Join(state, "*.log"))
	more, _ := filepath.Glob(filepath.Join(state, "*", "*.log"))
	for _, l := range append(logs, more...) {
		b, _ := os.ReadFile(l)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		t.Logf("--- %s (last 20 lines):\n%s", l, strings.Join(lines[max(0, len(lines)-20):], "\n"))
	}
}

func nomadClient(t testing.TB, addr string) *nomad.Client {
	t.Helper()
	c, err := nomad.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
