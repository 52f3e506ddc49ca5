package test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// TestUpScaleDown runs what `make up`, `make scale`, `make status` and `make down` run
// (lab.Up, lab.Scale, lab.Status, lab.Down), with the mesh on, in a network namespace
// so the fixed ports are free: every group becomes healthy and the web UI counts
// hashes; three workers mine faster than one; a scale-up bigger than the step goes one
// waited-for deployment per step; down stops the jobs through Nomad, then
// the agents, and leaves no pid file and no process behind.
func TestUpScaleDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dev, s := upInNamespace(ctx, t, lab.App{Mesh: true, Tracing: true, Vars: appVars(t)})
	groups := labStatus(t, s.Nomad, dev.NomadAddr)
	if len(groups) != 6 {
		t.Fatalf("status lists %d groups, want 6 (redis, jaeger, rng, hasher, worker, webui): %+v", len(groups), groups)
	}
	for _, g := range groups {
		if g.Desired != 1 || g.Running != 1 || g.Healthy != 1 {
			t.Errorf("%s/%s: %d wanted, %d running, %d healthy after up", g.Job, g.Group, g.Desired, g.Running, g.Healthy)
		}
	}
	webui := "http://" + dev.Node.IP + ":8000/json"
	testbed.Eventually(t, 30*time.Second, "hashes on %s", func() bool { return webuiHashes(t, webui) > 0 }, webui)
	before := webuiSpeed(t, webui, 4*time.Second)

	if err := lab.Scale(ctx, s.Nomad, "worker", 3, nil); err != nil {
		t.Fatal(err)
	}
	for _, g := range labStatus(t, s.Nomad, dev.NomadAddr) {
		if g.Group == "worker" && (g.Desired != 3 || g.Running != 3 || g.Healthy != 3) {
			t.Errorf("worker after scale: %d wanted, %d running, %d healthy", g.Desired, g.Running, g.Healthy)
		}
	}
	time.Sleep(2 * time.Second) // the new workers' first flushes
	after := webuiSpeed(t, webui, 4*time.Second)
	t.Logf("speed: %.1f hashes/s with 1 worker, %.1f with 3", before, after)
	if after < 1.5*before {
		t.Errorf("speed went from %.1f to %.1f hashes/s: scaling the workers did not raise it", before, after)
	}
	// A scale-up bigger than the step goes one deployment per step, each waited for.
	var reached []int
	if err := s.Nomad.ScaleInSteps(ctx, "dockercoins", "worker", 5, 1, func(n int) { reached = append(reached, n) }); err != nil {
		t.Fatal(err)
	}
	deps, _, err := s.Nomad.API().Jobs().Deployments("dockercoins", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	deployed := map[int]string{}
	for _, d := range deps {
		if g := d.TaskGroups["worker"]; g != nil {
			deployed[g.DesiredTotal] = d.Status
		}
	}
	if !slices.Equal(reached, []int{4, 5}) || deployed[4] != "successful" || deployed[5] != "successful" {
		t.Errorf("scaling 3 to 5 in steps of 1 reached %v; deployments by worker count: %v", reached, deployed)
	}
	if err := lab.Scale(ctx, s.Nomad, "miner", 2, nil); err == nil {
		t.Error("scaling a service that does not exist succeeded")
	}

	// Down must stop the jobs while the agents still run: the last answer Nomad gives
	// before it goes lists no job.
	var last []lab.Group
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			g, err := lab.Status(s.Nomad)
			if err != nil {
				return
			}
			mu.Lock()
			last = g
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if err := lab.Down(ctx, dev.Dev); err != nil {
		t.Fatal(err)
	}
	<-done
	if len(last) > 0 {
		t.Errorf("the agents stopped while jobs were registered: %+v", last)
	}
	if _, err := os.Stat(dev.Dev.State); !os.IsNotExist(err) {
		pids, _ := filepath.Glob(filepath.Join(dev.Dev.State, "*.pid"))
		t.Errorf("state folder still there after down (%v), pid files %v", err, pids)
	}
	if pids := dev.Node.Pids(); len(pids) > 0 {
		t.Errorf("processes left in the namespace after down: %v", pids)
	}
}

// upInNamespace runs lab.Up, what `make up` runs, on a dev stack in a network namespace
// of the test's own (so the fixed ports are free), with the test's binaries and tools.
func upInNamespace(ctx context.Context, t *testing.T, app lab.App) (*testbed.NomadDev, *lab.Stack) {
	t.Helper()
	dev := testbed.DevSpec(t)
	s, _ := upOn(ctx, t, dev, app)
	return dev, s
}

// upOn runs lab.Up on dev with dev's binaries and tools, and returns the stack and what
// Up printed.
func upOn(ctx context.Context, t *testing.T, dev *testbed.NomadDev, app lab.App) (*lab.Stack, string) {
	t.Helper()
	app.Root, app.BinDir, app.Tools = testbed.Root(), dev.Dev.BinDir, dev.Dev.Tools
	var progress bytes.Buffer
	s, err := lab.Up(ctx, dev.Dev, app, &progress)
	if err != nil {
		t.Fatalf("up: %v\n%s", err, progress.String())
	}
	return s, progress.String()
}

// labStatus reads lab.Status, as `make status` does, and checks that its table names
// every group.
func labStatus(t *testing.T, c *nomad.Client, addr string) []lab.Group {
	t.Helper()
	groups, err := lab.Status(c)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	lab.WriteStatus(&out, addr, groups)
	for _, g := range []string{"redis", "jaeger", "rng", "hasher", "worker", "webui"} {
		if !strings.Contains(out.String(), " "+g+" ") {
			t.Errorf("status does not name %s:\n%s", g, out.String())
		}
	}
	return groups
}

// webuiHashes reads the total the web UI shows.
func webuiHashes(t *testing.T, url string) int64 {
	code, body, err := httpGet(url)
	if err != nil || code != 200 {
		return 0
	}
	var v struct{ Hashes int64 }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%s: %v: %s", url, err, body)
	}
	return v.Hashes
}

// webuiSpeed is the hashes per second the web UI's total grew by over d.
func webuiSpeed(t *testing.T, url string, d time.Duration) float64 {
	h0, t0 := webuiHashes(t, url), time.Now()
	time.Sleep(d)
	return float64(webuiHashes(t, url)-h0) / time.Since(t0).Seconds()
}
