package test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/test/testbed"
	"github.com/hashicorp/nomad/api"
)

// TestNomadSingleNode runs the stack of `make up`, the dev agents of lab.StartDev
// and the three jobs, in a network namespace: every group becomes healthy, every
// instance answers through Consul DNS, hashes rise in Redis, Redis keeps every count
// when its process is killed and when its allocation is replaced, and when the job stops
// the workers' final counts add up to exactly what Redis holds.
func TestNomadSingleNode(t *testing.T) {
	dev := testbed.StartNomadDev(t)
	c := dev.Nomad
	if !t.Run("job files validate", func(t *testing.T) { checkJobFiles(t, dev) }) {
		t.FailNow()
	}
	run(t, c, "redis.nomad.hcl", redisVars(t), nil)
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

	// Redis keeps every count through a crash of redis-server and a new allocation.
	if !t.Run("redis killed", func(t *testing.T) { killNomadRedis(t, dev, r) }) {
		t.FailNow()
	}
	if !t.Run("redis allocation replaced", func(t *testing.T) { r = replaceNomadRedis(t, dev, r) }) {
		t.FailNow()
	}
	defer r.Close()

	s := stopAndTally(t, c)
	checkExact(t, s, r)
}

// checkJobFiles validates every job file, with the nomad command and through the API.
func checkJobFiles(t *testing.T, dev *testbed.NomadDev) {
	vars := map[string]nomad.Vars{
		"dockercoins.nomad.hcl": {"bin_dir": "/opt/dockercoins/bin", "worker_count": "3"},
		"redis.nomad.hcl":       redisVars(t),
		"jaeger.nomad.hcl":      {"jaeger_bin": testbed.Tool(t, "jaeger")},
	}
	files, _ := filepath.Glob(jobFile("*.nomad.hcl"))
	if len(files) != len(vars) {
		t.Fatalf("jobs/ holds %v; this test knows %d job files", files, len(vars))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			// The command people run...
			args := []string{"job", "validate"}
			for k, v := range vars[filepath.Base(f)] {
				args = append(args, "-var", k+"="+v)
			}
			cmd := exec.Command(testbed.Tool(t, "nomad"), append(args, f)...)
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
		job, err := dev.Nomad.ParseFile(jobFile("dockercoins.nomad.hcl"), nomad.Vars{"worker_count": "7", "webui_port": "8080", "driver": "raw_exec", "bin_dir": `/srv/a "b" ${c}`})
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

// TestNomadCluster runs the lab of `make cluster` (servers and three clients, each node
// in a network namespace of its own, as lab.StartCluster makes them) and drives
// it through Nomad's API: scaling spreads new instances over the nodes and raises the
// speed, a rolling update leaves no second without a hash, and a lost node's instances
// move to the others while no hash is lost or counted twice.
func TestNomadCluster(t *testing.T) {
	cl := testbed.StartNomadCluster(t, 3)
	c := cl.Nomad
	// Redis stays on n1: the node that goes away later is n3.
	run(t, c, "redis.nomad.hcl", redisVars(t), func(j *api.Job) {
		j.Constrain(api.NewConstraint("${node.unique.name}", "=", "n1"))
	})
	r := redisOf(t, c)
	counts := []string{"hasher_count", "2", "worker_count", "1", "rng_count", "1"}
	run(t, c, "dockercoins.nomad.hcl", appVars(t, counts...), nil)
	waitHashesRise(t, r, 0, 30*time.Second)

	ok := t.Run("scale", func(t *testing.T) {
		before := speed(t, r, 3*time.Second)
		// As `nomad job scale dockercoins worker 6`, then `... rng 3`, do: Nomad takes one
		// scale request at a time, refusing another while a deployment runs.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, g := range []struct {
			group string
			n     int
		}{{"worker", 6}, {"rng", 3}} {
			if err := c.ScaleAndWait(ctx, "dockercoins", g.group, g.n); err != nil {
				t.Fatal(err)
			}
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
