package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/test/testbed"
	"github.com/hashicorp/nomad/api"
	goredis "github.com/redis/go-redis/v9"
)

// The app's groups, and what each one's GET / starts with.
var groups = map[string]string{"rng": "RNG running on", "hasher": "HASHER running on", "worker": "WORKER running on", "webui": "<!"}

// jobFile is the path of one of the job files.
func jobFile(name string) string { return filepath.Join(testbed.Root(), "jobs", name) }

// appVars are the app job's variables for a test: the binaries built for it, short
// delays so counts grow fast, JSON logs to read the workers' final counts from, and
// quick rolling updates. extra overrides them, as name, value pairs.
func appVars(t testing.TB, extra ...string) nomad.Vars {
	v := nomad.Vars{
		"bin_dir":            filepath.Dir(testbed.Binary(t, "worker")),
		"rng_delay":          "50ms",
		"hasher_delay":       "50ms",
		"worker_pause":       "50ms",
		"worker_flush_every": "250ms",
		"discovery_ttl":      "1s",
		"shutdown_delay":     "2s",
		"min_healthy_time":   "1s",
		"log_format":         "json",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	return v
}

// run parses a job file through the agent with vars, lets change adjust the job (nil
// for none), registers it and waits for its deployment.
func run(t testing.TB, c *nomad.Client, file string, vars nomad.Vars, change func(*api.Job)) uint64 {
	t.Helper()
	job, err := c.ParseFile(jobFile(file), vars)
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(job)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	version, err := c.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	return version
}

func waitRunning(t testing.TB, c *nomad.Client, group string, n int) []nomad.Alloc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocs, err := c.WaitRunning(ctx, "dockercoins", group, n)
	if err != nil {
		t.Fatal(err)
	}
	return allocs
}

// srv asks a Consul DNS server for a service's SRV records and returns each instance as
// ip:port, sorted.
func srv(dnsAddr, service string) ([]string, error) {
	var d net.Dialer
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, dnsAddr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, records, err := r.LookupSRV(ctx, "", "", service+".service.consul.")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rec := range records {
		ips, err := r.LookupIP(ctx, "ip4", rec.Target)
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", rec.Target, err)
		}
		out = append(out, net.JoinHostPort(ips[0].String(), strconv.Itoa(int(rec.Port))))
	}
	slices.Sort(out)
	return out, nil
}

// waitDNS waits until Consul DNS answers for service with exactly the given instances.
func waitDNS(t testing.TB, dnsAddr, service string, want []string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	var got []string
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err = srv(dnsAddr, service)
		if err == nil && slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consul dns for %s: got %v (%v), want %v", service, got, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// addrs lists the allocations' addresses for a port label.
func addrs(allocs []nomad.Alloc, label string) []string {
	var out []string
	for _, a := range allocs {
		out = append(out, a.Addrs[label])
	}
	return out
}

func httpGet(url string) (int, string, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// redisOf connects to the Redis the redis job runs.
func redisOf(t testing.TB, c *nomad.Client) *goredis.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	allocs, err := c.WaitRunning(ctx, "redis", "redis", 1)
	if err != nil {
		t.Fatal(err)
	}
	r := goredis.NewClient(&goredis.Options{Addr: allocs[0].Addrs["db"]})
	t.Cleanup(func() { r.Close() })
	return r
}

func hashes(t testing.TB, r *goredis.Client) int64 {
	t.Helper()
	n, err := r.Get(context.Background(), "hashes").Int64()
	if err != nil && err != goredis.Nil {
		t.Fatalf("read hashes: %v", err)
	}
	return n
}

// speed measures the hashes counted in Redis per second over d.
func speed(t testing.TB, r *goredis.Client, d time.Duration) float64 {
	h0, t0 := hashes(t, r), time.Now()
	time.Sleep(d)
	return float64(hashes(t, r)-h0) / time.Since(t0).Seconds()
}

// waitHashesRise waits until Redis counts more than from hashes.
func waitHashesRise(t testing.TB, r *goredis.Client, from int64, within time.Duration) int64 {
	t.Helper()
	var n int64
	testbed.Eventually(t, within, "hashes in redis to rise above %d", func() bool {
		n = hashes(t, r)
		return n > from
	}, from)
	return n
}

// tally is what workers said when they stopped.
type tally struct {
	workers, stops              int
	loops, flushed, lost, coins int64
}

// add reads the "stopped" events in a worker's JSON log.
func (s *tally) add(log string) {
	s.workers++
	for _, line := range strings.Split(log, "\n") {
		var ev struct {
			Msg                         string
			Loops, Flushed, Lost, Coins int64
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Msg != "stopped" {
			continue
		}
		s.stops++
		s.loops += ev.Loops
		s.flushed += ev.Flushed
		s.lost += ev.Lost
		s.coins += ev.Coins
	}
}

// checkExact compares what the workers said with what Redis holds: every loop a worker
// completed is counted once, none is lost and none twice.
func checkExact(t testing.TB, s tally, r *goredis.Client) {
	t.Helper()
	if s.stops != s.workers {
		t.Errorf("%d worker allocations logged %d stop events, want one each", s.workers, s.stops)
	}
	if s.lost != 0 || s.flushed != s.loops {
		t.Errorf("workers completed %d loops, flushed %d, lost %d", s.loops, s.flushed, s.lost)
	}
	got := hashes(t, r)
	if got != s.loops {
		t.Errorf("redis counts %d hashes; the %d workers completed %d loops", got, s.workers, s.loops)
	}
	coins, _ := r.HLen(context.Background(), "wallet").Result()
	if coins != s.coins {
		t.Errorf("wallet holds %d coins; workers found %d", coins, s.coins)
	}
	t.Logf("%d workers: %d loops, %d coins, each counted once", s.workers, s.loops, s.coins)
}

// stopApp stops the app job, so every worker flushes and logs its final count.
func stopApp(t testing.TB, c *nomad.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Stop(ctx, "dockercoins"); err != nil {
		t.Fatal(err)
	}
}

func TestNomadJobFilesValidate(t *testing.T) {
	dev := testbed.StartNomadDev(t)
	vars := map[string]nomad.Vars{
		"dockercoins.nomad.hcl": {"bin_dir": "/opt/dockercoins/bin", "worker_count": "3"},
		"redis.nomad.hcl":       nil,
		"jaeger.nomad.hcl":      {"jaeger_bin": testbed.Tool(t, "jaeger")},
	}
	files, _ := filepath.Glob(jobFile("*.nomad.hcl"))
	if len(files) != len(vars) {
		t.Fatalf("jobs/ holds %v; this test knows %d job files", files, len(vars))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			// The command people run...
			cmd := exec.Command(testbed.Tool(t, "nomad"), "job", "validate", f)
			cmd.Env = append(os.Environ(), "NOMAD_ADDR="+dev.NomadAddr)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nomad job validate %s: %v\n%s", f, err, out)
			}
			// ...and the API the tests use, with variables.
			job, err := dev.Nomad.ParseFile(f, vars[filepath.Base(f)])
			if err != nil {
				t.Fatal(err)
			}
			if warnings, err := dev.Nomad.Validate(job); err != nil {
				t.Fatal(err)
			} else if warnings != "" {
				t.Errorf("validation warnings: %s", warnings)
			}
		})
	}
	t.Run("variables", func(t *testing.T) {
		job, err := dev.Nomad.ParseFile(jobFile("dockercoins.nomad.hcl"), nomad.Vars{"worker_count": "7", "webui_port": "8080", "bin_dir": `/srv/a "b" ${c}`})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range job.TaskGroups {
			switch *g.Name {
			case "worker":
				if *g.Count != 7 {
					t.Errorf("worker count %d, want 7", *g.Count)
				}
				if cmd := g.Tasks[0].Config["command"]; cmd != `/srv/a "b" ${c}/worker` {
					t.Errorf("worker command %q", cmd)
				}
			case "webui":
				if p := g.Networks[0].ReservedPorts; len(p) != 1 || p[0].Value != 8080 {
					t.Errorf("webui ports %+v, want static 8080", p)
				}
			}
		}
		if _, err := dev.Nomad.ParseFile(jobFile("dockercoins.nomad.hcl"), nomad.Vars{"worker_count": "many"}); err == nil {
			t.Error("worker_count=many parsed without an error")
		}
	})
}

func TestNomadSingleNode(t *testing.T) {
	dev := testbed.StartNomadDev(t)
	c := dev.Nomad
	run(t, c, "redis.nomad.hcl", nil, nil)
	run(t, c, "jaeger.nomad.hcl", nomad.Vars{"jaeger_bin": testbed.Tool(t, "jaeger")}, nil)
	run(t, c, "dockercoins.nomad.hcl", appVars(t, "worker_count", "2", "hasher_count", "2"), nil)
	r := redisOf(t, c)

	counts := map[string]int{"rng": 1, "hasher": 2, "worker": 2, "webui": 1}
	for group, greeting := range groups {
		allocs := waitRunning(t, c, group, counts[group])
		// Every instance is in Consul DNS, and what answers there is the service.
		waitDNS(t, dev.ConsulDNS, group, addrs(allocs, "http"))
		for _, addr := range addrs(allocs, "http") {
			code, body, err := httpGet("http://" + addr + "/")
			if err != nil || code != http.StatusOK || !strings.HasPrefix(body, greeting) {
				t.Errorf("%s at %s: %d %q %v", group, addr, code, body, err)
			}
		}
	}
	redisAllocs, _ := c.Running("redis", "redis")
	waitDNS(t, dev.ConsulDNS, "redis", addrs(redisAllocs, "db"))
	jaegerAllocs, _ := c.Running("jaeger", "jaeger")
	waitDNS(t, dev.ConsulDNS, "jaeger", addrs(jaegerAllocs, "otlp"))
	waitDNS(t, dev.ConsulDNS, "jaeger-query", addrs(jaegerAllocs, "query"))
	if code, body, err := httpGet("http://" + dev.Node.IP + ":16686/api/services"); err != nil || code != http.StatusOK {
		t.Errorf("jaeger query api: %d %q %v", code, body, err)
	}

	// Hashes rise in Redis, and the web UI, on its fixed port, shows them.
	h := waitHashesRise(t, r, 0, 30*time.Second)
	waitHashesRise(t, r, h+20, 30*time.Second)
	code, body, err := httpGet("http://" + dev.Node.IP + ":8000/json")
	if err != nil || code != http.StatusOK || !strings.Contains(body, `"hashes"`) {
		t.Fatalf("webui on :8000: %d %q %v", code, body, err)
	}

	stopApp(t, c)
	var s tally
	for _, a := range allocsOf(t, c, "worker") {
		log, err := c.TaskLog(a.ID, "worker", "stdout")
		if err != nil {
			t.Fatal(err)
		}
		s.add(log)
	}
	checkExact(t, s, r)
}

// allocsOf lists every allocation of an app group, of every version.
func allocsOf(t testing.TB, c *nomad.Client, group string) []nomad.Alloc {
	t.Helper()
	all, err := c.Allocations("dockercoins")
	if err != nil {
		t.Fatal(err)
	}
	var out []nomad.Alloc
	for _, a := range all {
		if a.Group == group {
			out = append(out, a)
		}
	}
	return out
}

// nodesOf lists the distinct nodes allocations run on.
func nodesOf(allocs []nomad.Alloc) []string {
	var out []string
	for _, a := range allocs {
		out = append(out, a.Node)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// waitPlaced waits until n healthy allocations of an app group run, none on node
// avoid, and returns them.
func waitPlaced(t testing.TB, c *nomad.Client, group string, n int, avoid string) []nomad.Alloc {
	t.Helper()
	var got []nomad.Alloc
	testbed.Eventually(t, 90*time.Second, "%d healthy %s allocations off %s", func() bool {
		running, err := c.Running("dockercoins", group)
		if err != nil {
			return false
		}
		got = running
		for _, a := range running {
			if !a.Healthy || a.Node == avoid {
				return false
			}
		}
		return len(running) == n
	}, n, group, avoid)
	return got
}

// checkNoGap checks that loops were counted in every second from from to to: the
// per-second buckets the workers write show mining never stopped.
func checkNoGap(t testing.TB, r *goredis.Client, from, to time.Time) {
	t.Helper()
	time.Sleep(2 * time.Second) // the last seconds' counts are still being flushed
	var gaps []int64
	lowest := int64(-1)
	for s := from.Unix(); s < to.Unix(); s++ {
		n, _ := r.Get(context.Background(), "speed:"+strconv.FormatInt(s, 10)).Int64()
		if n == 0 {
			gaps = append(gaps, s-from.Unix())
		}
		if lowest < 0 || n < lowest {
			lowest = n
		}
	}
	if len(gaps) > 0 {
		t.Errorf("no hash counted in second(s) %v of %s", gaps, to.Sub(from).Round(time.Second))
	}
	t.Logf("%s without a gap; slowest second: %d hashes", to.Sub(from).Round(time.Second), lowest)
}

func TestNomadCluster(t *testing.T) {
	cl := testbed.StartNomadCluster(t, 3)
	c := cl.Nomad
	// Redis stays on n1: the node that goes away later is n3.
	run(t, c, "redis.nomad.hcl", nil, func(j *api.Job) {
		j.Constrain(api.NewConstraint("${node.unique.name}", "=", "n1"))
	})
	r := redisOf(t, c)
	counts := []string{"hasher_count", "2", "worker_count", "1", "rng_count", "1"}
	run(t, c, "dockercoins.nomad.hcl", appVars(t, counts...), nil)
	waitHashesRise(t, r, 0, 30*time.Second)

	ok := t.Run("scale", func(t *testing.T) {
		before := speed(t, r, 3*time.Second)
		// As `nomad job scale dockercoins worker 6` and `... rng 3` do.
		if _, err := c.Scale("dockercoins", "worker", 6); err != nil {
			t.Fatal(err)
		}
		version, err := c.Scale("dockercoins", "rng", 3)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.WaitDeployment(ctx, "dockercoins", version); err != nil {
			t.Fatal(err)
		}
		all := []string{"n1", "n2", "n3"}
		for group, n := range map[string]int{"worker": 6, "rng": 3} {
			allocs := waitRunning(t, c, group, n)
			if got := nodesOf(allocs); !slices.Equal(got, all) {
				t.Errorf("%d %s allocations run on %v, want spread over %v", n, group, got, all)
			}
			waitDNS(t, cl.ConsulDNS, group, addrs(allocs, "http"))
		}
		after := speed(t, r, 3*time.Second)
		t.Logf("speed: %.1f hashes/s with 1 worker and 1 rng, %.1f with 6 workers and 3 rng", before, after)
		if after < 2*before {
			t.Errorf("speed went from %.1f to %.1f hashes/s: scaling did not raise it", before, after)
		}
	})
	if !ok {
		t.FailNow()
	}
	counts = []string{"hasher_count", "2", "worker_count", "6", "rng_count", "3"}

	ok = t.Run("rolling update", func(t *testing.T) {
		old := map[string]bool{}
		for _, a := range allocsOf(t, c, "worker") {
			old[a.ID] = true
		}
		start := time.Now()
		version := run(t, c, "dockercoins.nomad.hcl", appVars(t, append(counts, "release", "2")...), nil)
		end := time.Now()
		for group, n := range map[string]int{"worker": 6, "rng": 3, "hasher": 2, "webui": 1} {
			for _, a := range waitRunning(t, c, group, n) {
				if a.Version != version {
					t.Errorf("%s allocation %s runs job version %d, want %d", group, a.ID, a.Version, version)
				}
			}
		}
		for _, a := range allocsOf(t, c, "worker") {
			if old[a.ID] && a.Running() {
				t.Errorf("worker %s of version %d still runs", a.ID, a.Version)
			}
		}
		checkNoGap(t, r, start, end)
	})
	if !ok {
		t.FailNow()
	}

	t.Run("node loss", func(t *testing.T) {
		lost := map[string]bool{}
		for _, a := range allocsOf(t, c, "worker") {
			if a.Running() && a.Node == "n3" {
				lost[a.ID] = true
			}
		}
		start := time.Now()
		cl.ShutDown(t, "n3", 25*time.Second)
		// Nomad notices the missing heartbeats and places the lost instances on n1 and n2;
		// Consul drops n3's instances from DNS; the workers never stop mining.
		workers := waitPlaced(t, c, "worker", 6, "n3")
		rngs := waitPlaced(t, c, "rng", 3, "n3")
		waitPlaced(t, c, "hasher", 2, "n3")
		waitDNS(t, cl.ConsulDNS, "worker", addrs(workers, "http"))
		waitDNS(t, cl.ConsulDNS, "rng", addrs(rngs, "http"))
		t.Logf("n3 lost %d workers; all back on n1 and n2 after %s", len(lost), time.Since(start).Round(time.Second))
		for _, a := range allocsOf(t, c, "worker") {
			if lost[a.ID] && a.Status != api.AllocClientStatusLost {
				t.Errorf("worker %s on n3 is %s, want lost", a.ID, a.Status)
			}
		}
		h := hashes(t, r)
		waitHashesRise(t, r, h+20, 20*time.Second)
		checkNoGap(t, r, start, time.Now())

		// Every worker that ever ran has stopped and said what it completed: Redis holds
		// exactly that, whether the worker was scaled in, replaced by the update, stopped
		// with its node or stopped with the job.
		stopApp(t, c)
		var s tally
		for _, a := range allocsOf(t, c, "worker") {
			var log string
			if a.Node == "n3" {
				b, err := os.ReadFile(cl.AllocFile("n3", a.ID, "alloc/logs/worker.stdout.0"))
				if err != nil {
					t.Fatal(err)
				}
				log = string(b)
			} else {
				var err error
				if log, err = c.TaskLog(a.ID, "worker", "stdout"); err != nil {
					t.Fatal(err)
				}
			}
			s.add(log)
		}
		checkExact(t, s, r)
	})
}
