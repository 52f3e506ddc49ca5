package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/nomad"
)

// NomadDev is the single-node platform of `make up`, a Consul dev agent and a Nomad dev
// agent started by lab/provision/dev.sh, in a network namespace of the test's own, so
// the jobs' fixed ports (webui 8000, Jaeger 16686) are free.
type NomadDev struct {
	Node      *Node
	Nomad     *nomad.Client
	NomadAddr string // http://<ip>:4646
	ConsulDNS string // <ip>:8600
}

// StartNomadDev starts the dev agents and waits until the Nomad client is ready. The
// agents, and anything Nomad still runs, stop when the test ends.
func StartNomadDev(t testing.TB) *NomadDev {
	t.Helper()
	state := stateDir(t)
	node := NewNet(t).Node("dev", 2)
	t.Cleanup(func() { stopAgents(t, state) })
	runLab(t, node, "lab/provision/dev.sh", node.IP)(map[string]string{"LAB_STATE": state})
	d := &NomadDev{Node: node, NomadAddr: "http://" + node.IP + ":4646", ConsulDNS: node.IP + ":8600"}
	d.Nomad = nomadClient(t, d.NomadAddr)
	return d
}

// NomadCluster is the multi-node lab of `make cluster`: the Consul and Nomad servers on
// one node, and clients n1, n2, ... each on a node of its own with its own Consul agent,
// every node provisioned by lab/provision/node.sh. Unlike `make cluster` the servers
// too are in a namespace, so nothing binds in the machine's own network.
type NomadCluster struct {
	Server    *Node
	Clients   map[string]*Node // by Nomad node name
	Nomad     *nomad.Client
	NomadAddr string
	ConsulDNS string // the Consul server's DNS, which sees every node's services
	state     string
}

// StartNomadCluster starts a server node and n client nodes and waits until every
// client is ready.
func StartNomadCluster(t testing.TB, n int) *NomadCluster {
	t.Helper()
	state := stateDir(t)
	net := NewNet(t)
	c := &NomadCluster{Server: net.Node("server", 2), Clients: map[string]*Node{}, state: state}
	c.NomadAddr = "http://" + c.Server.IP + ":4646"
	c.ConsulDNS = c.Server.IP + ":8600"
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("n%d", i+1)
		c.Clients[names[i]] = net.Node(names[i], 11+i)
	}
	// Registered after the nodes, so it runs before their namespaces go.
	t.Cleanup(func() { stopAgents(t, state) })
	env := map[string]string{"LAB_STATE": state}
	runLab(t, c.Server, "lab/provision/node.sh", "server", c.Server.IP, c.Server.IP, "server")(env)
	for _, name := range names {
		node := c.Clients[name]
		runLab(t, node, "lab/provision/node.sh", name, node.IP, c.Server.IP, "client")(env)
	}
	c.Nomad = nomadClient(t, c.NomadAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.Nomad.WaitNodes(ctx, n); err != nil {
		t.Fatal(err)
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
			if HasEnv(pid, "NOMAD_ALLOC_ID") {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	for _, pid := range tasks() {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for len(tasks()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
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

// runLab returns a function running one of the lab's scripts inside node with the
// pinned consul and nomad on PATH and extra environment, failing the test if it fails.
func runLab(t testing.TB, node *Node, script string, args ...string) func(env map[string]string) {
	return func(env map[string]string) {
		t.Helper()
		cmd := node.Command(filepath.Join(Root(), script), args...)
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "PATH="+toolPath(t)+":"+os.Getenv("PATH"))
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, out)
		}
	}
}

// toolPath is a PATH entry holding the pinned consul and nomad.
func toolPath(t testing.TB) string {
	consul, nomad := Tool(t, "consul"), Tool(t, "nomad")
	if filepath.Dir(consul) != filepath.Dir(nomad) {
		return filepath.Dir(consul) + ":" + filepath.Dir(nomad)
	}
	return filepath.Dir(consul)
}

// stopAgents stops the agents started under state with lab/provision/stop.sh, and, if
// the test failed, shows the end of each agent's log.
func stopAgents(t testing.TB, state string) {
	if t.Failed() {
		logs, _ := filepath.Glob(filepath.Join(state, "*.log"))
		more, _ := filepath.Glob(filepath.Join(state, "*", "*.log"))
		for _, l := range append(logs, more...) {
			b, _ := os.ReadFile(l)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Logf("--- %s (last 20 lines):\n%s", l, strings.Join(lines[max(0, len(lines)-20):], "\n"))
		}
	}
	dirs := []string{state}
	sub, _ := filepath.Glob(filepath.Join(state, "*"))
	dirs = append(dirs, sub...)
	exec.Command(filepath.Join(Root(), "lab/provision/stop.sh"), dirs...).Run()
}

func nomadClient(t testing.TB, addr string) *nomad.Client {
	t.Helper()
	c, err := nomad.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
