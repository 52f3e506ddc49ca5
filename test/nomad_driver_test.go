package test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// TestNomadDriverExec runs what `make up DRIVER=exec MESH=false` runs, in a network
// namespace: every group healthy, rng and hasher in Consul DNS, one worker at the
// workshop's speed (about 3.33 hashes/s), every task process an unprivileged user's;
// then three workers and back to one, and when the job stops every loop the workers
// completed is in Redis exactly once.
func TestNomadDriverExec(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	testbed.Binary(t, "worker") // built before the clock starts
	start := time.Now()
	dev, s := upInNamespace(ctx, t, lab.App{Driver: lab.Exec, Vars: workshopVars(t)})
	t.Logf("exec: every job healthy %.1f s after up began", time.Since(start).Seconds())
	checkDriverStack(t, s.Nomad, dev.ConsulDNS, lab.Exec)
}

// TestNomadDriverDocker does the same with the docker driver: the images
// dockercoins/<service>:local, on the dev stack in this namespace at 127.0.0.1 (a
// container with host networking lives in dockerd's namespace, not in one the test
// makes), so the stack's ports must be free.
func TestNomadDriverDocker(t *testing.T) {
	// The Docker daemon that runs, or Debian's started for this test (make deps-test
	// installs it).
	dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer dcancel()
	ensureDocker(dctx, t)
	// The images, built from services/*/Dockerfile (cached; see lab/images.go).
	// Cached builds take seconds; a first build, minutes.
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer bcancel()
	var build bytes.Buffer
	if err := lab.BuildImages(bctx, testbed.Root(), lab.ImageCacheDir(), testbed.Tools(t), &build); err != nil {
		t.Fatalf("build the images: %v\n%s", err, build.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	state, err := os.MkdirTemp("", "dc-docker-")
	if err != nil {
		t.Fatal(err)
	}
	d := lab.Dev{Root: testbed.Root(), State: state, Tools: testbed.Tools(t), BinDir: filepath.Dir(testbed.Binary(t, "worker"))}
	t.Cleanup(func() {
		lab.Down(context.Background(), d)
		os.RemoveAll(state)
	})
	app := lab.App{Root: d.Root, BinDir: d.BinDir, Tools: d.Tools, Driver: lab.Docker, Vars: workshopVars(t)}
	var progress bytes.Buffer
	start := time.Now()
	s, err := lab.Up(ctx, d, app, &progress)
	if err != nil {
		t.Fatalf("up: %v\n%s", err, progress.String())
	}
	t.Logf("docker: every job healthy %.1f s after up began", time.Since(start).Seconds())
	checkDriverStack(t, s.Nomad, s.ConsulDNS, lab.Docker)
}

// workshopVars are the test's job variables at the workshop's delays, so one worker
// mines about 3.33 hashes/s.
func workshopVars(t *testing.T) nomad.Vars {
	return appVars(t, "rng_delay", "100ms", "hasher_delay", "100ms", "worker_pause", "100ms")
}

// checkDriverStack checks a stack the app runs on with driver: see TestNomadDriverExec.
func checkDriverStack(t *testing.T, c *nomad.Client, dns, driver string) {
	for group := range groups {
		allocs := waitRunning(t, c, group, 1)
		if group == "rng" || group == "hasher" {
			waitDNS(t, dns, group, addrs(allocs, "http"))
		}
	}
	job, _, err := c.API().Jobs().Info("dockercoins", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range job.TaskGroups {
		if got := g.Tasks[0].Driver; got != driver {
			t.Errorf("group %s runs with %s, want %s", *g.Name, got, driver)
		}
	}
	checkNotRoot(t, c)

	r := redisOf(t, c)
	waitHashesRise(t, r, 0, 30*time.Second)
	time.Sleep(2 * time.Second) // past the first flush
	v := speed(t, r, 6*time.Second)
	t.Logf("%s: 1 worker mines %.2f hashes/s (workshop: 3.33)", driver, v)
	if v < 2.5 || v > 4 {
		t.Errorf("1 worker mines %.2f hashes/s, want about 3.33", v)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, n := range []int{3, 1} {
		if err := lab.Scale(ctx, c, "worker", n, nil); err != nil {
			t.Fatal(err)
		}
		if got := len(waitRunning(t, c, "worker", n)); got != n {
			t.Fatalf("%d workers run, want %d", got, n)
		}
	}
	s := stopAndTally(t, c)
	if s.workers != 3 {
		t.Errorf("%d worker allocations, want 3 (one, then two more, then two stopped)", s.workers)
	}
	checkExact(t, s, r)
}

// checkNotRoot finds the processes of every running allocation and checks that none runs as uid 0, printing what it found.
func checkNotRoot(t *testing.T, c *nomad.Client) {
	t.Helper()
	want := map[string]string{} // alloc ID -> job/group
	for _, job := range lab.Jobs {
		allocs, err := c.Allocations(job)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range allocs {
			if a.Running() {
				want[a.ID] = job + "/" + a.Group
			}
		}
	}
	found := map[string]int{}
	pids, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range pids {
		alloc := allocOfProc(dir, want)
		name, ok := want[alloc]
		if !ok {
			continue
		}
		uids := procUids(dir)
		comm, _ := os.ReadFile(dir + "/comm")
		t.Logf("%-18s pid %-7s %-14s uids (real, effective, saved, fs) %v", name, filepath.Base(dir), strings.TrimSpace(string(comm)), uids)
		found[alloc]++
		if len(uids) != 4 {
			t.Errorf("%s: pid %s: no Uid line in its status", name, filepath.Base(dir))
		}
		for _, u := range uids {
			if u == 0 {
				t.Errorf("%s: pid %s (%s) runs as root", name, filepath.Base(dir), strings.TrimSpace(string(comm)))
				break
			}
		}
	}
	for id, name := range want {
		if found[id] == 0 {
			t.Errorf("no process of allocation %s (%s) found", id, name)
		}
	}
}

// allocOfProc names the allocation of allocs the process at dir belongs to, if any: by
// the NOMAD_ALLOC_ID in its environment, else (redis-server writes its process title
// over its environment) by the allocation's ID in its cgroup or working directory.
func allocOfProc(dir string, allocs map[string]string) string {
	env, _ := os.ReadFile(dir + "/environ")
	for _, kv := range bytes.Split(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("NOMAD_ALLOC_ID=")); ok {
			return string(v)
		}
	}
	cgroup, _ := os.ReadFile(dir + "/cgroup")
	cwd, _ := os.Readlink(dir + "/cwd")
	for id := range allocs {
		if strings.Contains(string(cgroup), id) || strings.Contains(cwd, "/"+id+"/") {
			return id
		}
	}
	return ""
}

// procUids reads the Uid line of /proc/<pid>/status.
func procUids(dir string) []int {
	f, err := os.Open(dir + "/status")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Uid:"); ok {
			var uids []int
			for _, field := range strings.Fields(rest) {
				u, err := strconv.Atoi(field)
				if err != nil {
					return nil
				}
				uids = append(uids, u)
			}
			return uids
		}
	}
	return nil
}
