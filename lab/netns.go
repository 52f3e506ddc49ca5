package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dockercoins/dockercoins/internal/poll"
)

// Net is a network of network namespaces on one machine: a bridge holding
// <Prefix>.1/24, and nodes, each a namespace attached to the bridge with its own address
// and its own loopback. Programs in a node bind any port without meeting anything else
// on the machine, and the root namespace reaches them through the bridge.
type Net struct {
	Prefix string // "10.199.<k>": the bridge is .1, nodes take other hosts
	Bridge string
	Tag    string // starts the name of every namespace of this network
	nodes  int
}

// Node is a network namespace on a Net, with one address on its eth0.
type Node struct {
	Name string // the namespace's name
	IP   string
}

// ErrNetExists says a network's bridge is there already: a run that made it is going
// on, or was killed before it cleaned up.
var ErrNetExists = errors.New("the network exists")

// CreateNet creates the bridge of a network, claiming prefix. The bridge's alias is the
// tag, so ClearStale can tell whose it is.
func CreateNet(bridge, prefix, tag string) (*Net, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("network namespaces need root")
	}
	if exists("/sys/class/net/" + bridge) {
		return nil, fmt.Errorf("%w: bridge %s", ErrNetExists, bridge)
	}
	if err := ip("link", "add", bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	n := &Net{Prefix: prefix, Bridge: bridge, Tag: tag}
	for _, args := range [][]string{
		{"link", "set", "dev", bridge, "alias", tag + "bridge"},
		{"addr", "add", prefix + ".1/24", "dev", bridge},
		{"link", "set", bridge, "up"},
	} {
		if err := ip(args...); err != nil {
			n.Delete()
			return nil, err
		}
	}
	if err := allowForwarding(bridge); err != nil {
		n.Delete()
		return nil, err
	}
	return n, nil
}

// FreeNet creates a network on a 10.199.<k>.0/24 range (k from 100 to 249) that no
// interface uses yet; its bridge is dct<k>br.
func FreeNet(tag string) (*Net, error) {
	start := rand.IntN(150)
	for i := range 150 {
		k := 100 + (start+i)%150
		prefix := fmt.Sprintf("10.199.%d", k)
		if inUse(prefix + ".") {
			continue
		}
		// Creating the bridge claims k: a second process fails here and moves on.
		if n, err := CreateNet(fmt.Sprintf("dct%dbr", k), prefix, tag); err == nil {
			return n, nil
		} else if os.Geteuid() != 0 {
			return nil, err
		}
	}
	return nil, errors.New("no free 10.199.x.0/24 range for a network")
}

// Node names the node AddNode(name, host) adds, without creating it.
func (n *Net) Node(name string, host int) *Node {
	return &Node{Name: n.Tag + name, IP: fmt.Sprintf("%s.%d", n.Prefix, host)}
}

// AddNode adds a namespace named <Tag><name> with the address <Prefix>.<host>.
func (n *Net) AddNode(name string, host int) (*Node, error) {
	n.nodes++
	nd := n.Node(name, host)
	veth := fmt.Sprintf("%sv%d", strings.TrimSuffix(n.Bridge, "br"), n.nodes)
	for _, args := range [][]string{
		{"netns", "add", nd.Name},
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", nd.Name},
		{"link", "set", veth, "master", n.Bridge, "up"},
		{"-n", nd.Name, "addr", "add", nd.IP + "/24", "dev", "eth0"},
		{"-n", nd.Name, "link", "set", "eth0", "up"},
		{"-n", nd.Name, "link", "set", "lo", "up"},
	} {
		if err := ip(args...); err != nil {
			return nil, fmt.Errorf("node %s: %w", name, err)
		}
	}
	return nd, nil
}

// Delete kills everything still running in the network's namespaces, deletes them and
// then the bridge.
func (n *Net) Delete() error {
	out, _ := exec.Command("ip", "netns", "list").Output()
	var errs []error
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], n.Tag) {
			errs = append(errs, (&Node{Name: f[0]}).Delete())
		}
	}
	errs = append(errs, disallowForwarding(n.Bridge))
	if exists("/sys/class/net/" + n.Bridge) {
		errs = append(errs, ip("link", "del", n.Bridge))
	}
	return errors.Join(errs...)
}

// Delete kills what runs in the namespace and deletes it.
func (nd *Node) Delete() error {
	nd.KillAll(syscall.SIGKILL)
	return ip("netns", "del", nd.Name)
}

// Command returns a command that runs prog inside the namespace.
func (nd *Node) Command(prog string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", nd.Name, prog}, args...)...)
}

// Pids lists the processes running in the namespace.
func (nd *Node) Pids() []int {
	return netnsPids(nd.Name)
}

// netnsPids lists the processes in namespace ns; none if ns does not exist.
func netnsPids(ns string) []int {
	target, err := os.Stat(filepath.Join("/run/netns", ns))
	if err != nil {
		return nil
	}
	var pids []int
	for _, pid := range allPids() {
		if st, err := os.Stat(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && os.SameFile(st, target) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// KillAll sends sig to every process in the namespace and, for SIGKILL, waits (up to
// 10 s) until they are gone.
func (nd *Node) KillAll(sig syscall.Signal) {
	for _, pid := range nd.Pids() {
		syscall.Kill(pid, sig)
	}
	if sig != syscall.SIGKILL {
		return
	}
	poll.Within(context.Background(), 10*time.Second, 50*time.Millisecond, func() bool { return len(nd.Pids()) == 0 })
}

// ClearStale removes the namespaces and bridges whose tag is tagPrefix followed by the
// pid of a process that is gone (a test killed by a timeout before its cleanup ran),
// with whatever still runs in them, and the folders under dir named likewise.
func ClearStale(tagPrefix, dir, dirPrefix string) {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && OwnerGone(f[0], tagPrefix) {
			(&Node{Name: f[0]}).Delete()
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(dir, dirPrefix+"*"))
	for _, d := range dirs {
		if OwnerGone(filepath.Base(d), dirPrefix) {
			StopAgents(d)
			os.RemoveAll(d)
		}
	}
	out, _ = exec.Command("ip", "-o", "link", "show", "type", "bridge").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		i := strings.Index(line, "alias ")
		if len(f) < 2 || i < 0 || !OwnerGone(strings.Fields(line[i+len("alias "):])[0], tagPrefix) {
			continue
		}
		br := strings.TrimSuffix(f[1], ":")
		disallowForwarding(br)
		ip("link", "del", br)
	}
}

// OwnerGone reports whether name is prefix followed by the pid of a process that is
// gone, then "-" and more or nothing: what a test names the things it must clear up,
// so that a later run can clear what a killed one left.
func OwnerGone(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return false
	}
	owner, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(owner)
	return err == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH
}

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// inUse reports whether an interface already holds an address starting with prefix.
func inUse(prefix string) bool {
	out, _ := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	return strings.Contains(string(out), " "+prefix)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
