package testbed

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Net is a network of the test's own: a bridge holding 10.199.<k>.1/24, and nodes in
// network namespaces attached to it, each with its own address and its own loopback.
// Programs in a node bind any port they like without meeting anything else on the
// machine, and the test reaches them from the root namespace through the bridge.
type Net struct {
	Prefix string // "10.199.<k>": the bridge is .1, nodes take other hosts
	bridge string
	tag    string // names this test process's namespaces
	t      testing.TB
	nodes  int
}

// Node is a network namespace on a Net, with one address on its eth0.
type Node struct {
	Name string // the namespace's name
	IP   string
	net  *Net
}

// nsTag starts the names of the namespaces tests create; the process id after it tells
// whose they are, so a later run can clear what a killed test left behind.
const nsTag = "dctest-"

// dirTag starts the names of the agents' state folders, likewise; shorter, as the
// paths under them hold unix sockets.
const dirTag = "dct"

// NewNet creates a bridge on a 10.199.<k>.0/24 range no one else uses, and removes it,
// with every node, when the test ends. It needs root.
func NewNet(t testing.TB) *Net {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	clearStale(t)
	n := &Net{tag: fmt.Sprintf("%s%d-", nsTag, os.Getpid()), t: t}
	start := 100 + rand.IntN(150)
	for i := range 150 {
		k := 100 + (start-100+i)%150
		bridge := fmt.Sprintf("dct%dbr", k)
		if inUse(fmt.Sprintf("10.199.%d.", k)) {
			continue
		}
		// Creating the bridge claims k: a second test process fails here and moves on.
		if exec.Command("ip", "link", "add", bridge, "type", "bridge").Run() != nil {
			continue
		}
		n.bridge, n.Prefix = bridge, fmt.Sprintf("10.199.%d", k)
		break
	}
	if n.bridge == "" {
		t.Fatal("no free 10.199.x.0/24 range for a test network")
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", n.bridge).Run() })
	mustIP(t, "link", "set", "dev", n.bridge, "alias", n.tag+"bridge")
	mustIP(t, "addr", "add", n.Prefix+".1/24", "dev", n.bridge)
	mustIP(t, "link", "set", n.bridge, "up")
	return n
}

// Node adds a namespace with the address <prefix>.<host>. When the test ends,
// everything still running in it is killed and it is deleted.
func (n *Net) Node(name string, host int) *Node {
	t := n.t
	t.Helper()
	n.nodes++
	nd := &Node{Name: n.tag + name, IP: fmt.Sprintf("%s.%d", n.Prefix, host), net: n}
	veth := fmt.Sprintf("%sv%d", strings.TrimSuffix(n.bridge, "br"), n.nodes)
	mustIP(t, "netns", "add", nd.Name)
	t.Cleanup(func() {
		nd.KillAll(syscall.SIGKILL)
		exec.Command("ip", "netns", "del", nd.Name).Run()
	})
	mustIP(t, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", nd.Name)
	mustIP(t, "link", "set", veth, "master", n.bridge, "up")
	mustIP(t, "-n", nd.Name, "addr", "add", nd.IP+"/24", "dev", "eth0")
	mustIP(t, "-n", nd.Name, "link", "set", "eth0", "up")
	mustIP(t, "-n", nd.Name, "link", "set", "lo", "up")
	return nd
}

// Command returns a command that runs prog inside the namespace.
func (nd *Node) Command(prog string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", nd.Name, prog}, args...)...)
}

// Pids lists the processes running in the namespace.
func (nd *Node) Pids() []int {
	target, err := os.Stat(filepath.Join("/run/netns", nd.Name))
	if err != nil {
		return nil
	}
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if st, err := os.Stat(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && os.SameFile(st, target) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// KillAll sends sig to every process in the namespace and, for SIGKILL, waits until
// they are gone.
func (nd *Node) KillAll(sig syscall.Signal) {
	for _, pid := range nd.Pids() {
		syscall.Kill(pid, sig)
	}
	if sig != syscall.SIGKILL {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(nd.Pids()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

// HasEnv reports whether process pid was started with the environment variable name.
func HasEnv(pid int, name string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	return err == nil && bytes.Contains(append([]byte{0}, b...), []byte("\x00"+name+"="))
}

func mustIP(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// inUse reports whether an interface already holds an address starting with prefix.
func inUse(prefix string) bool {
	out, _ := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	return strings.Contains(string(out), " "+prefix)
}

// clearStale removes the namespaces and bridges of test processes that are gone
// (killed by a timeout before their cleanup ran), with whatever still runs in them.
func clearStale(t testing.TB) {
	deadOwner := func(name, tag string) bool {
		rest, ok := strings.CutPrefix(name, tag)
		if !ok {
			return false
		}
		owner, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(owner)
		return ok && err == nil && syscall.Kill(pid, 0) == syscall.ESRCH
	}
	dead := func(name string) bool { return deadOwner(name, nsTag) }
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && dead(f[0]) {
			t.Logf("removing namespace %s left by an earlier test run", f[0])
			(&Node{Name: f[0]}).KillAll(syscall.SIGKILL)
			exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirTag+"*"))
	for _, d := range dirs {
		if deadOwner(filepath.Base(d), dirTag) {
			os.RemoveAll(d)
		}
	}
	out, _ = exec.Command("ip", "-o", "link", "show", "type", "bridge").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		i := strings.Index(line, "alias ")
		if len(f) < 2 || i < 0 || !dead(strings.Fields(line[i+len("alias "):])[0]) {
			continue
		}
		exec.Command("ip", "link", "del", strings.TrimSuffix(f[1], ":")).Run()
	}
}
