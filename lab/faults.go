package lab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/services/worker"
)

// Fault is one thing the suite breaks while the app mines.
type Fault struct {
	Name   string
	What   string // how it is injected, and what should happen
	Inject func(p *phase) error
}

// phase is what a fault sees and records while it is injected.
type phase struct {
	*Chaos
	ctx    context.Context
	app    App
	killed []killedWorker // worker processes the fault killed without a drain
	bound  int64          // the loss allowed: -1 none
	note   string
}

// killedWorker is the status a worker process had just before the suite killed it:
// final, as no loop could complete in between.
type killedWorker struct {
	alloc  string
	status dockercoins.WorkerStatus
}

// CutOff is how long the cut-off node stays off the network.
const CutOff = 20 * time.Second

// Faults lists the suite's faults in the order it injects them: the node lost comes
// last, as it leaves the cluster a node short.
func Faults() []Fault {
	return []Fault{
		{"worker SIGKILL", "a worker on n2 killed; Nomad restarts it in its allocation, which replays its journal",
			func(p *phase) error { return p.killWorkers("n2", 1) }},
		{"rng SIGKILL", "an rng killed; workers retry on the other, Nomad restarts it",
			func(p *phase) error { return p.kill("rng", "rng") }},
		{"hasher SIGKILL", "a hasher killed; workers retry on the other, Nomad restarts it",
			func(p *phase) error { return p.kill("hasher", "hasher") }},
		{"redis-server SIGKILL", "Redis killed; workers keep their counts, Nomad restarts it",
			func(p *phase) error { return p.kill("redis", "redis-server") }},
		{"Consul agent restart", "n2's Consul agent stopped and started again",
			func(p *phase) error { return p.Cluster.RestartAgent(p.ctx, 2, "consul") }},
		{"Jaeger down", "the jaeger job stopped for 10 s, then run again",
			func(p *phase) error { return p.jaegerDown(10 * time.Second) }},
		{"rolling update", "the job run again with release=2: every instance replaced, one per group at a time",
			func(p *phase) error { return p.rollingUpdate() }},
		{"node cut off 20 s", "n2's eth0 down in its namespace for 20 s",
			func(p *phase) error { return p.cutOff(2, CutOff) }},
		{"node lost", "every process of n2 or n3 (the one with more workers) SIGKILLed at once; Nomad places its allocations elsewhere",
			func(p *phase) error { return p.loseNode() }},
	}
}

// FaultNames lists the faults' names.
func FaultNames() []string {
	var out []string
	for _, f := range Faults() {
		out = append(out, f.Name)
	}
	return out
}

// kill SIGKILLs one process of a task (exe is its program's name).
func (p *phase) kill(task, exe string) error {
	pids := p.taskPids(exe, "")
	if len(pids) == 0 {
		return fmt.Errorf("no %s process to kill", task)
	}
	return syscall.Kill(pids[0], syscall.SIGKILL)
}

// killWorkers kills n workers of node with SIGKILL, having read each one's final
// status: hashers frozen, so no loop completes between the reading and the kill.
func (p *phase) killWorkers(node string, n int) error {
	allocs, err := p.Stack.Nomad.Running("dockercoins", dockercoins.Worker)
	if err != nil {
		return err
	}
	var victims []nomad.Alloc
	for _, a := range allocs {
		if a.Node == node && len(victims) < n {
			victims = append(victims, a)
		}
	}
	if len(victims) == 0 {
		return fmt.Errorf("no worker runs on %s", node)
	}
	return p.frozenWithPending(func() error {
		for _, a := range victims {
			if err := p.killWorker(a); err != nil {
				return err
			}
		}
		return nil
	}, victims)
}

// errNothingPending says the workers about to be killed had flushed everything: the
// kill would not put their journal to the test.
var errNothingPending = errors.New("nothing pending")

// frozenWithPending runs fn as frozen does, at a moment when the workers of victims
// hold unflushed loops (trying a few moments: they flush every 250 ms).
func (p *phase) frozenWithPending(fn func() error, victims []nomad.Alloc) error {
	for range 20 {
		err := p.frozen(func() error {
			var pending int64
			for _, a := range victims {
				st, err := workerStatus(a.Addrs["http"])
				if err != nil {
					return err
				}
				pending += st.Pending
			}
			if pending == 0 {
				return errNothingPending
			}
			return fn()
		})
		if !errors.Is(err, errNothingPending) {
			return err
		}
		time.Sleep(70 * time.Millisecond)
	}
	return p.frozen(fn)
}

// killWorker reads a worker's status and kills it. Call it with the hashers frozen.
func (p *phase) killWorker(a nomad.Alloc) error {
	st, err := workerStatus(a.Addrs["http"])
	if err != nil {
		return err
	}
	pids := p.taskPids("worker", a.ID)
	if len(pids) != 1 {
		return fmt.Errorf("worker %s: %d processes", a.ID, len(pids))
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		return err
	}
	p.killed = append(p.killed, killedWorker{alloc: a.ID, status: st})
	return nil
}

// frozen runs fn with every hasher and Redis stopped (SIGSTOP), after a moment for
// the replies already on their way to land: no loop completes while fn runs, so a
// status read in fn is final, and no flush is acknowledged, so the workers keep
// their unflushed loops for a kill in fn to put to the test.
func (p *phase) frozen(fn func() error) error {
	pids := append(p.taskPids("hasher", ""), p.taskPids("redis-server", "")...)
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGSTOP)
	}
	defer func() {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	return fn()
}

// jaegerDown stops the jaeger job for d, then runs it again.
func (p *phase) jaegerDown(d time.Duration) error {
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	if err := p.Stack.Nomad.Stop(ctx, "jaeger"); err != nil {
		return err
	}
	time.Sleep(d)
	a := p.App
	a.Jobs, a.Pin = []string{"jaeger"}, map[string]string{"jaeger": "n1"}
	ctx, cancel = context.WithTimeout(p.ctx, 2*time.Minute)
	defer cancel()
	return Deploy(ctx, p.Stack, a)
}

// rollingUpdate runs the phase's job again with another release label and waits for
// the deployment.
func (p *phase) rollingUpdate() error {
	a := p.app
	a.Vars = maps.Clone(a.Vars)
	if a.Vars == nil {
		a.Vars = nomad.Vars{}
	}
	a.Vars["release"] = "2"
	ctx, cancel := context.WithTimeout(p.ctx, 3*time.Minute)
	defer cancel()
	return Deploy(ctx, p.Stack, a)
}

// cutOff takes client node n<i> off the network for d: its eth0 down inside its
// namespace, then up again. Its processes run on and find nobody.
func (p *phase) cutOff(i int, d time.Duration) error {
	ns := ClientNode(p.Cluster.Net, i).Name
	if err := ip("-n", ns, "link", "set", "eth0", "down"); err != nil {
		return err
	}
	time.Sleep(d)
	return ip("-n", ns, "link", "set", "eth0", "up")
}

// loseNode kills every process of client node n2 or n3, whichever runs more workers,
// at once, agents and tasks, as a machine losing power. What its workers had not
// flushed is lost with the node's disk: the bound, read from their status just before
// (hashers frozen).
func (p *phase) loseNode() error {
	allocs, err := p.Stack.Nomad.Running("dockercoins", dockercoins.Worker)
	if err != nil {
		return err
	}
	on := map[string]int{}
	for _, a := range allocs {
		on[a.Node]++
	}
	i := 3
	if on["n2"] > on["n3"] {
		i = 2
	}
	node := fmt.Sprintf("n%d", i)
	var victims []nomad.Alloc
	for _, a := range allocs {
		if a.Node == node {
			victims = append(victims, a)
		}
	}
	return p.frozenWithPending(func() error {
		p.bound = 0
		for _, a := range victims {
			st, err := workerStatus(a.Addrs["http"])
			if err != nil {
				return err
			}
			p.killed = append(p.killed, killedWorker{alloc: a.ID, status: st})
			p.bound += st.Pending
		}
		ClientNode(p.Cluster.Net, i).KillAll(syscall.SIGKILL)
		p.note = fmt.Sprintf("%d worker(s) on %s; bound: their %d unflushed loops", len(victims), node, p.bound)
		return nil
	}, victims)
}

// taskPids finds the processes running program exe in this cluster's client nodes (of
// allocation allocID, if set).
func (p *phase) taskPids(exe, allocID string) []int {
	return clusterTaskPids(&p.Cluster, exe, allocID)
}

// clusterTaskPids is TaskPids over the processes of c's client nodes' namespaces, where
// only the agents and the tasks run.
func clusterTaskPids(c *Cluster, exe, allocID string) []int {
	var pids []int
	for i := 1; i <= c.Nodes; i++ {
		pids = append(pids, ClientNode(c.Net, i).Pids()...)
	}
	return TaskPids(pids, exe, allocID)
}

// TaskPids picks, of pids, the processes running program exe, of Nomad allocation
// allocID if it is set. A task's allocation shows in its environment (NOMAD_ALLOC_ID)
// or, where the program wrote its process title over its environment (redis-server),
// in its cgroup, which Nomad names after the allocation for every driver it isolates.
// Neither the working folder nor NOMAD_ALLOC_DIR would do: under exec both are paths
// inside the task's own mount namespace.
func TaskPids(pids []int, exe, allocID string) []int {
	var out []int
	for _, pid := range pids {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) != exe {
			continue
		}
		if allocID != "" && !envHas(environ(pid), "NOMAD_ALLOC_ID="+allocID+"\x00") {
			cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
			if !strings.Contains(string(cg), allocID) {
				continue
			}
		}
		out = append(out, pid)
	}
	return out
}

// workerStatus reads a worker's status, not waiting long: its peers may be frozen.
func workerStatus(addr string) (dockercoins.WorkerStatus, error) {
	return worker.Status(context.Background(), &http.Client{Timeout: 2 * time.Second}, addr)
}
