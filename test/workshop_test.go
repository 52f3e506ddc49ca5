package test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// TestWorkshopOnNomad replays the workshop's scaling story on the stack of `make up
// MESH=false`, with the workshop's delays, checking what each slide says a learner
// sees: one worker mines about 3.3 hashes/s, two about twice that, ten only about three
// times (rng is the bottleneck); under ten workers httping shows rng far slower than
// hasher on GET /, while rng's health path stays fast; the second worker's own lines
// are in its logs; `make down` leaves nothing behind.
func TestWorkshopOnNomad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dev, s := upInNamespace(ctx, t, lab.App{Vars: appVars(t, "rng_delay", "100ms", "hasher_delay", "100ms",
		"worker_pause", "100ms", "worker_flush_every", "1s")})
	webui := "http://" + dev.Node.IP + ":8000/json"
	testbed.Eventually(t, 30*time.Second, "hashes on %s", func() bool { return webuiHashes(t, webui) > 0 }, webui)

	speed := map[int]float64{}
	for _, workers := range []int{1, 2, 10} {
		if workers > 1 {
			if err := lab.Scale(ctx, s.Nomad, dockercoins.Worker, workers, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second) // the new workers' first loops and flushes
		}
		speed[workers] = webuiSpeed(t, webui, 10*time.Second)
		t.Logf("%2d workers: %.2f hashes/s", workers, speed[workers])
	}
	if r := speed[2] / speed[1]; r < 1.6 || r > 2.4 {
		t.Errorf("2 workers mine %.1fx what 1 does, the slides say about 2x", r)
	}
	if r := speed[10] / speed[1]; r < 2.4 || r > 3.6 {
		t.Errorf("10 workers mine %.1fx what 1 does, the slides say about 3x (not 10x)", r)
	}

	rng, hasher := oneAddr(t, s.Nomad, dockercoins.RNG), oneAddr(t, s.Nomad, dockercoins.Hasher)
	rngLatency, hasherLatency := latency(t, "http://"+rng+"/"), latency(t, "http://"+hasher+"/")
	healthLatency := latency(t, "http://"+rng+dockercoins.HealthPath)
	t.Logf("under 10 workers, mean of 10 GETs: rng / %v, hasher / %v, rng %s %v",
		rngLatency, hasherLatency, dockercoins.HealthPath, healthLatency)
	if rngLatency < 5*hasherLatency {
		t.Errorf("rng's GET / took %v, hasher's %v: the slides say rng is much slower", rngLatency, hasherLatency)
	}
	if healthLatency*5 > rngLatency {
		t.Errorf("rng's health path took %v, its GET / %v: a health check must not queue", healthLatency, rngLatency)
	}

	// `nomad alloc logs` of the second worker shows its own work.
	workers, err := s.Nomad.Running("dockercoins", dockercoins.Worker)
	if err != nil || len(workers) != 10 {
		t.Fatalf("%d workers running (%v)", len(workers), err)
	}
	log, err := s.Nomad.TaskLog(workers[1].ID, dockercoins.Worker, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, "units of work done, updating hash counter") {
		t.Errorf("the second worker's log shows no work:\n%s", log[max(0, len(log)-800):])
	}

	if err := lab.Down(ctx, dev.Dev); err != nil {
		t.Fatal(err)
	}
	if pids := dev.Node.Pids(); len(pids) > 0 {
		t.Errorf("processes left after down: %v", pids)
	}
}

// oneAddr is the http address of a running instance of a group.
func oneAddr(t *testing.T, c *nomad.Client, group string) string {
	t.Helper()
	allocs, err := c.Running("dockercoins", group)
	if err != nil || len(allocs) == 0 {
		t.Fatalf("no %s running (%v)", group, err)
	}
	return allocs[0].Addrs["http"]
}

// latency is the mean time of 10 GETs of url, one after another, as `httping -c 10`.
func latency(t *testing.T, url string) time.Duration {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	var sum time.Duration
	for range 10 {
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", url, resp.Status)
		}
		sum += time.Since(start)
	}
	return sum / 10
}
