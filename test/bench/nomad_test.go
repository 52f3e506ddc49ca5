package bench

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/redis"
	"github.com/dockercoins/dockercoins/test/testbed"
	goredis "github.com/redis/go-redis/v9"
)

// nomadApp is DockerCoins run by Nomad on a three-client cluster, with the workshop's
// delays.
type nomadApp struct {
	b       *testing.B
	c       *nomad.Client
	cluster *testbed.NomadCluster
	redis   *goredis.Client
}

// startNomadApp runs redis and dockercoins as make cluster does, without Jaeger and
// without the mesh: with it on, Redis listens on its node's loopback only, and the
// benchmarks read the counts from outside.
func startNomadApp(b *testing.B) *nomadApp {
	cl := testbed.StartNomadCluster(b, 3)
	a := &nomadApp{b: b, c: cl.Nomad, cluster: cl}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	app := lab.App{Root: testbed.Root(), BinDir: filepath.Dir(testbed.Binary(b, "worker")), Tools: testbed.Tools(b),
		Jobs: []string{"redis", "dockercoins"}, Vars: nomad.Vars{
			// Only how fast deployments move on, not how the app runs.
			"min_healthy_time": "1s",
			"shutdown_delay":   "1s",
		}}
	if err := lab.Deploy(ctx, cl.Stack, app); err != nil {
		b.Fatal(err)
	}
	allocs, err := a.c.Running("redis", "redis")
	if err != nil || len(allocs) != 1 {
		b.Fatalf("redis allocations %v: %v", allocs, err)
	}
	password, err := lab.RedisPassword(cl.Nomad)
	if err != nil {
		b.Fatal(err)
	}
	a.redis = goredis.NewClient(&goredis.Options{Addr: allocs[0].Addrs["db"], Password: password})
	b.Cleanup(func() { a.redis.Close() })
	return a
}

// scale sets a group's count, as `nomad job scale` does, and waits for the deployment.
func (a *nomadApp) scale(group string, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := a.c.ScaleAndWait(ctx, "dockercoins", group, n); err != nil {
		a.b.Fatal(err)
	}
}

// rate counts the loops workers completed in the d whole seconds after the current
// one, from the per-second buckets: exact, where a difference of the `hashes` counter
// would depend on when each worker last flushed.
func (a *nomadApp) rate(d time.Duration) float64 {
	first := time.Now().Unix() + 1
	last := first + int64(d/time.Second) // exclusive
	time.Sleep(time.Until(time.Unix(last, 0)))
	time.Sleep(1500 * time.Millisecond) // the workers flush their counts every second
	counts, err := (&redis.Reader{Client: a.redis}).Buckets(context.Background(), first, last-1)
	if err != nil {
		a.b.Fatal(err)
	}
	var sum int64
	for _, n := range counts {
		sum += n
	}
	return float64(sum) / float64(last-first)
}

// spreadOf says how many workers run on each node.
func (a *nomadApp) spreadOf() string {
	allocs, err := a.c.Running("dockercoins", "worker")
	if err != nil {
		a.b.Fatal(err)
	}
	per := map[string]int{}
	for _, al := range allocs {
		per[al.Node]++
	}
	var parts []string
	for _, node := range slices.Sorted(maps.Keys(per)) {
		parts = append(parts, fmt.Sprintf("%s:%d", node, per[node]))
	}
	return strings.Join(parts, " ")
}

// scaleUpTimes scales the workers up to n and times, from the scale request, the first
// new allocation running, the first loop a new worker completed (its status line) and
// the first hash of a new worker counted in Redis (a new applied:<worker> key, written
// by its first flush).
func (a *nomadApp) scaleUpTimes(n int) (running, loop, counted time.Duration) {
	ctx := context.Background()
	before := map[string]bool{}
	oldKeys, _ := a.redis.Keys(ctx, "applied:*").Result()
	for _, k := range oldKeys {
		before[k] = true
	}
	oldAllocs := map[string]bool{}
	all, _ := a.c.Allocations("dockercoins")
	for _, al := range all {
		oldAllocs[al.ID] = true
	}
	start := time.Now()
	version, err := a.c.Scale("dockercoins", "worker", n)
	if err != nil {
		a.b.Fatal(err)
	}
	// Nomad refuses another scale request while this one's deployment runs.
	defer func() {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := a.c.WaitDeployment(ctx, "dockercoins", version); err != nil {
			a.b.Fatal(err)
		}
	}()
	client := http.Client{Timeout: time.Second}
	for time.Since(start) < 60*time.Second && (running == 0 || loop == 0 || counted == 0) {
		if running == 0 || loop == 0 {
			allocs, _ := a.c.Running("dockercoins", "worker")
			for _, al := range allocs {
				if oldAllocs[al.ID] {
					continue
				}
				if running == 0 {
					running = time.Since(start)
				}
				if n, _ := testbed.WorkerLoops(&client, al.Addrs["http"]); loop == 0 && n > 0 {
					loop = time.Since(start)
				}
			}
		}
		if counted == 0 {
			keys, _ := a.redis.Keys(ctx, "applied:*").Result()
			for _, k := range keys {
				if !before[k] {
					counted = time.Since(start)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return running, loop, counted
}

func BenchmarkNomadScaling(b *testing.B) {
	grid := newTable("Nomad, 3 clients: hashes/s for W workers and R rng (default delays: 100 ms each)",
		"R", "W", "hashes/s", "model min(W/0.3, 10·R)", "vs model (target ±5%)", "workers per node")
	lat := newTable("Nomad: from the scale request to a new worker's first hash",
		"scale", "allocation running", "first loop", "first hash in Redis")
	a := startNomadApp(b)
	for r := 1; r <= 3; r++ {
		a.scale("rng", r)
		w0 := 0
		for _, w := range []int{1, 2, 5, 10, 20} {
			if w0 > 0 && w > w0 {
				running, loop, counted := a.scaleUpTimes(w)
				lat.add(fmt.Sprintf("worker %d -> %d (R=%d)", w0, w, r), running.Round(10*time.Millisecond),
					loop.Round(10*time.Millisecond), counted.Round(10*time.Millisecond))
			} else {
				a.scale("worker", w)
			}
			w0 = w
			time.Sleep(2 * time.Second) // warm-up: the new workers' queues settle
			got := a.rate(7 * time.Second)
			model := min(float64(w)/0.3, 10*float64(r))
			grid.add(r, w, got, model, within(got, model, 5), a.spreadOf())
		}
	}
	grid.note("Each cell: 7 whole seconds of loops, read from the per-second buckets, 2 s after the deployment of the new count.")
	lat.note("First hash in Redis includes the wait for the worker's first flush (every 1 s).")
}
