package test

import (
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/test/testbed"
)

// hungCollector listens on a free loopback port and reads every request sent to it,
// never answering, as a collector wedged behind a dead disk would. It returns the
// endpoint for OTEL_EXPORTER_OTLP_ENDPOINT.
func hungCollector(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go io.Copy(io.Discard, c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// jobTaskMemory is the least memory the dockercoins job gives any of its tasks, in bytes.
func jobTaskMemory(t *testing.T) int64 {
	t.Helper()
	hcl, err := os.ReadFile(jobFile("dockercoins.nomad.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	var least int64
	for _, m := range regexp.MustCompile(`(?m)^\s*memory\s*=\s*(\d+)\s*$`).FindAllSubmatch(hcl, -1) {
		mb, _ := strconv.ParseInt(string(m[1]), 10, 64)
		if least == 0 || mb < least {
			least = mb
		}
	}
	if least == 0 {
		t.Fatal("no task memory in jobs/dockercoins.nomad.hcl")
	}
	return least << 20
}

// A traced service whose collector hangs fills its span queue, and every export waits
// out its timeout. The services trade memory for CPU while tracing (GOGC 200), so the
// runtime's soft memory limit must keep them inside what the job gives a task, where
// the kernel would kill them: without it rng reached 34 MB of 32.
func TestTracedServicesStayInTheirMemoryWhenTheCollectorHangs(t *testing.T) {
	limit := jobTaskMemory(t)
	otel := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + hungCollector(t), "OTEL_TRACES_SAMPLER=always_on", "ACCESS_LOG=false"}
	a := &app{redis: testbed.StartRedis(t)}
	a.rng = testbed.StartService(t, "rng", append([]string{"RNG_DELAY=0s"}, otel...)...)
	a.hasher = testbed.StartService(t, "hasher", append([]string{"HASHER_DELAY=0s"}, otel...)...)
	services := []*testbed.Service{a.rng, a.hasher}
	for range 4 {
		services = append(services, a.worker(t, append(otel, "WORKER_PAUSE=0s")...))
	}
	// Past the queue (4,096 spans) and the batch held by the hung export, every service
	// drops what it ends.
	for _, s := range services {
		testbed.Eventually(t, 60*time.Second, s.Name+" to end three queues' worth of spans", func() bool {
			n, _, err := testbed.Metric(s.URL()+"/metrics", "telemetry_spans_total", `state="ended"`)
			return err == nil && n >= 3*4096
		})
	}
	// Sample through more than one export timeout (10 s), as exports fail and start again.
	peak := map[*testbed.Service]int64{}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, s := range services {
			rss, err := testbed.RSS(s.PID())
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			peak[s] = max(peak[s], rss)
		}
	}
	for _, s := range services {
		t.Logf("%s: peak RSS %.1f MiB of %d", s.Name, float64(peak[s])/(1<<20), limit>>20)
		if peak[s] >= limit {
			t.Errorf("%s reached %.1f MiB RSS with its collector hung; its task has %d", s.Name, float64(peak[s])/(1<<20), limit>>20)
		}
		if n, _, err := testbed.Metric(s.URL()+"/metrics", "telemetry_spans_total", `state="exported"`); err != nil || n != 0 {
			t.Errorf("%s: %v spans exported to a collector that never answers (%v)", s.Name, n, err)
		}
	}
}
