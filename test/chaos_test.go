package test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// TestChaos runs the fault suite of `make chaos` (lab.Chaos) on a cluster of three
// client nodes in network namespaces, with shorter mining: for every fault, every loop
// a worker completed is counted in Redis exactly once, and a lost node loses no more
// than its workers had not flushed. Each fault is a subtest. FAULTS (comma-separated
// names, as `make chaos FAULTS=...` takes) runs only those.
func TestChaos(t *testing.T) {
	var faults []string
	for _, f := range strings.Split(os.Getenv("FAULTS"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			faults = append(faults, f)
		}
	}
	want := len(lab.Faults())
	if len(faults) > 0 {
		want = len(faults)
	}
	cl := testbed.StartNomadCluster(t, lab.ChaosNodes)
	var out strings.Builder
	suite := &lab.Chaos{Cluster: cl.Lab, Stack: cl.Stack, Faults: faults, Mine: 3 * time.Second, Recover: time.Minute, Out: &out,
		App: lab.ChaosApp(testbed.Root(), filepath.Dir(testbed.Binary(t, "worker")), testbed.Tools(t), cl.Lab.Net, 4, 2, 2)}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	results, err := suite.Run(ctx)
	var table strings.Builder
	lab.WriteTable(&table, results)
	t.Logf("progress:\n%s\n%s", out.String(), table.String())
	for _, r := range results {
		t.Run(strings.ReplaceAll(r.Fault, " ", "_"), func(t *testing.T) {
			if r.Completed == 0 {
				t.Fatalf("no loop completed")
			}
			if r.Twice != 0 {
				t.Errorf("%d loops counted twice: %d completed, %d counted", r.Twice, r.Completed, r.Counted)
			}
			if r.Fault == "node lost" {
				if r.Bound < 0 || r.Lost > r.Bound {
					t.Errorf("lost %d loops, beyond the bound of %d unflushed", r.Lost, r.Bound)
				}
			} else if r.Lost != 0 {
				t.Errorf("%d loops lost: %d completed, %d counted", r.Lost, r.Completed, r.Counted)
			}
			if r.Recovery < 0 {
				t.Errorf("the speed did not come back to %.0f%% of %.1f hashes/s within %s", 100*lab.RecoverShare, r.Baseline, suite.Recover)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != want {
		t.Fatalf("%d of %d faults ran", len(results), want)
	}
}
