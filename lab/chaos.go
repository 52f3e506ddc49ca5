package lab

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dockercoins/dockercoins/nomad"
	goredis "github.com/redis/go-redis/v9"
)

// Chaos is the fault suite of `make chaos`: on a running cluster of at least three
// client nodes (StartCluster), with Redis and Jaeger pinned to n1 so node faults hit
// n2 and n3, it mines, injects one fault at a time and checks that every loop a
// worker completed is counted in Redis exactly once.
type Chaos struct {
	Cluster Cluster // the running cluster: its nodes, state folder and tools
	Stack   *Stack
	App     App // the app; its Vars set the counts and delays of every phase

	Faults  []string      // the faults to inject, by name (see Faults); empty: all
	Mine    time.Duration // mining before the fault, and again once the speed recovered
	Recover time.Duration // the longest wait for the speed to come back
	Out     io.Writer     // progress

	redis *goredis.Client
}

// Result is what one phase of the suite measured.
type Result struct {
	Fault     string
	Completed int64 // loops the workers completed, each counted by the process that did it
	Counted   int64 // what Redis's hashes grew by
	Lost      int64 // completed but not counted
	Twice     int64 // counted but never completed: counted twice
	// Bound is the loss the fault may cause: the unflushed loops of the processes it
	// killed for good (-1: none allowed).
	Bound    int64
	Baseline float64       // hashes/s before the fault
	Recovery time.Duration // from the fault until the speed was back to RecoverShare of Baseline; -1: not within Chaos.Recover
	// Stall is the longest time from the fault on that Redis's count did not grow:
	// loops mined meanwhile land later, in the buckets of the seconds they were mined in.
	Stall time.Duration
	Note  string
}

// OK reports whether the phase met its target: nothing counted twice, and nothing
// lost beyond the fault's bound.
func (r Result) OK() bool {
	return r.Twice == 0 && r.Lost <= max(r.Bound, 0)
}

// RecoverShare is the share of the speed before a fault that counts as recovered.
const RecoverShare = 0.8

// ChaosNodes is how many client nodes the suite needs: n1 keeps Redis and Jaeger, n2
// is cut off and has its agent restarted, n2 or n3 is lost at the end.
const ChaosNodes = 3

// Run runs Redis and Jaeger, then one phase per fault, and returns what each measured.
// A phase that cannot be carried out ends the suite with an error; the results so far
// are returned with it.
func (c *Chaos) Run(ctx context.Context) ([]Result, error) {
	if c.Cluster.Nodes < ChaosNodes {
		return nil, fmt.Errorf("the fault suite needs %d client nodes, the cluster has %d", ChaosNodes, c.Cluster.Nodes)
	}
	faults, err := pick(c.Faults)
	if err != nil {
		return nil, err
	}
	base := c.App
	base.Jobs, base.Pin = []string{"redis", "jaeger"}, map[string]string{"redis": "n1", "jaeger": "n1"}
	fmt.Fprintln(c.Out, "running redis and jaeger on n1...")
	dctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := Deploy(dctx, c.Stack, base); err != nil {
		return nil, err
	}
	rs, err := c.Stack.Nomad.Running("redis", "redis")
	if err != nil || len(rs) != 1 {
		return nil, fmt.Errorf("the redis allocation: %v (%d running)", err, len(rs))
	}
	password, err := RedisPassword(c.Stack.Nomad)
	if err != nil {
		return nil, err
	}
	c.redis = goredis.NewClient(&goredis.Options{Addr: rs[0].Addrs["db"], Password: password})
	defer c.redis.Close()
	var results []Result
	for _, f := range faults {
		fmt.Fprintf(c.Out, "== %s\n", f.Name)
		r, err := c.phase(ctx, f)
		if err != nil {
			return results, fmt.Errorf("%s: %w", f.Name, err)
		}
		fmt.Fprintf(c.Out, "   %s\n", r.line())
		results = append(results, r)
	}
	return results, nil
}

// phase deploys a fresh dockercoins job, mines, injects the fault, waits for the speed
// to recover, mines on, stops the job (every worker drains) and balances the count.
func (c *Chaos) phase(ctx context.Context, f Fault) (Result, error) {
	r := Result{Fault: f.Name, Bound: -1}
	known, err := allocIDs(c.Stack.Nomad)
	if err != nil {
		return r, err
	}
	before, err := c.hashes(ctx)
	if err != nil {
		return r, err
	}
	app := c.App
	app.Jobs = []string{"dockercoins"}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := Deploy(dctx, c.Stack, app); err != nil {
		return r, err
	}
	// Let every worker reach its pace before the baseline is taken.
	time.Sleep(c.Mine + dockercoinsSettle)
	r.Baseline = c.speed(ctx, time.Now().Add(-dockercoinsSettle-4*time.Second), 4)
	p := &phase{Chaos: c, app: app, ctx: ctx, bound: -1}
	start := time.Now()
	stall := c.watchStall(ctx)
	if err := f.Inject(p); err != nil {
		stall()
		return r, fmt.Errorf("inject: %w", err)
	}
	r.Recovery = c.waitRecovered(ctx, start, r.Baseline)
	time.Sleep(c.Mine)
	r.Stall = stall()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := c.Stack.Nomad.Stop(sctx, "dockercoins"); err != nil {
		return r, err
	}
	done, replayed, err := c.completed(ctx, known, p.killed)
	if err != nil {
		return r, err
	}
	after, err := c.hashes(ctx)
	if err != nil {
		return r, err
	}
	// Recovery is measured again on the final buckets: loops a worker held while Redis
	// or a peer was away land in the seconds they were mined in.
	if final := c.recovery(ctx, start, r.Baseline, time.Now()); final >= 0 && (r.Recovery < 0 || final < r.Recovery) {
		r.Recovery = final
	}
	r.Completed, r.Counted = done, after-before
	r.Lost, r.Twice = max(0, r.Completed-r.Counted), max(0, r.Counted-r.Completed)
	if p.bound >= 0 {
		r.Bound = p.bound
	}
	r.Note = p.note
	if replayed > 0 {
		r.Note = strings.TrimPrefix(r.Note+fmt.Sprintf("; %d loops replayed from journals by restarted workers", replayed), "; ")
	}
	return r, nil
}

// allocIDs lists the dockercoins allocations that exist already, so a phase looks at
// its own only.
func allocIDs(c *nomad.Client) (map[string]bool, error) {
	all, err := c.Allocations("dockercoins")
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, a := range all {
		ids[a.ID] = true
	}
	return ids, nil
}

// pick finds the named faults, in the suite's order.
func pick(names []string) ([]Fault, error) {
	if len(names) == 0 {
		return Faults(), nil
	}
	var out []Fault
	for _, f := range Faults() {
		if slices.Contains(names, f.Name) {
			out = append(out, f)
		}
	}
	if len(out) != len(names) {
		return nil, fmt.Errorf("unknown fault in %q; the faults are %q", names, FaultNames())
	}
	return out, nil
}

// ChaosApp is the app the suite mines with on a cluster on net: workers, rngs and
// hashers instances, the workshop's shape at half its delays so counts grow fast,
// flushes every 250 ms, JSON logs (the suite reads the workers' last lines), quick
// rolling updates, and traces to the Jaeger pinned to n1.
func ChaosApp(root, binDir string, tools Tools, net *Net, workers, rngs, hashers int) App {
	vars := QuickVars()
	vars["worker_count"] = strconv.Itoa(workers)
	vars["rng_count"] = strconv.Itoa(rngs)
	vars["hasher_count"] = strconv.Itoa(hashers)
	vars["otel_endpoint"] = "http://" + ClientNode(net, 1).IP + ":4318"
	return App{Root: root, BinDir: binDir, Tools: tools, Vars: vars}
}

// QuickVars are the dockercoins job's variables for a stack that must show results in
// seconds (the chaos suite, the tests): the workshop's shape at half its delays,
// flushes every 250 ms, quick rolling updates, and JSON logs to read the workers'
// counts from.
func QuickVars() nomad.Vars {
	return nomad.Vars{
		"rng_delay":          "50ms",
		"hasher_delay":       "50ms",
		"worker_pause":       "50ms",
		"worker_flush_every": "250ms",
		"discovery_ttl":      "1s",
		"shutdown_delay":     "2s",
		"min_healthy_time":   "1s",
		"log_format":         "json",
	}
}
