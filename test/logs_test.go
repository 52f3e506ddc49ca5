package test

import (
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/test/testbed"
)

// TestLogsShowTheWork checks what the workshop has learners read in the logs: rng and
// hasher write an access line per request, naming the caller, and the worker says how
// much work it reports at each update of the counter.
func TestLogsShowTheWork(t *testing.T) {
	a := startApp(t)
	w := a.worker(t)
	testbed.Eventually(t, 20*time.Second, "20 hashes counted", func() bool { return a.redis.Hashes() >= 20 })

	for _, c := range []struct {
		svc          *testbed.Service
		method, path string
	}{{a.rng, "GET", "/32"}, {a.hasher, "POST", "/"}} {
		lines := c.svc.Events("request")
		seen := 0
		for _, l := range lines {
			if l["method"] == c.method && l["path"] == c.path && l["status"] == 200.0 &&
				strings.HasPrefix(l["caller"].(string), "127.0.0.1:") && l["duration"] != nil {
				seen++
			}
		}
		if seen < 20 {
			t.Errorf("%s logged %d access lines for %s %s from the worker, want at least 20 (of %d lines)", c.svc.Name, seen, c.method, c.path, len(lines))
		}
	}

	var reported int64
	for _, l := range w.Lines() {
		if strings.Contains(l, " units of work done, updating hash counter") {
			reported++
		}
	}
	if reported == 0 {
		t.Errorf("the worker never logged its units of work; last lines:\n%s", w.Tail(10))
	}
}
