package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// floodTraces is how many traces the memory tests send: five times what Jaeger keeps.
const floodTraces = 100000

// The jaeger job keeps its traces in memory, up to max_traces, under the memory Nomad
// gives the task. Flooded with five times the traces it keeps, it must stay inside that
// memory: an OOM kill restarts it empty, and every trace a learner was looking at is
// gone (with max_traces at 100,000 in 256 MB, it was killed after 83,500).
func TestJaegerJobStaysInItsMemory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dev := testbed.DevSpec(t)
	s, err := lab.StartDev(ctx, dev.Dev)
	if err != nil {
		t.Fatal(err)
	}
	app := lab.App{Root: testbed.Root(), Tools: dev.Dev.Tools, Jobs: []string{"jaeger"}, Driver: s.Driver}
	if err := lab.Deploy(ctx, s, app); err != nil {
		t.Fatal(err)
	}
	allocs, err := s.Nomad.Running("jaeger", "jaeger")
	if err != nil || len(allocs) != 1 {
		t.Fatalf("jaeger allocations %v: %v", allocs, err)
	}
	limit := taskMemory(t, s, allocs[0].ID) << 20
	peak := floodJaeger(t, "http://"+allocs[0].Addrs["otlp"], "http://"+allocs[0].Addrs["query"], func() int64 { return jaegerRSS(dev.Node.Pids()) })
	if n := restarts(t, s, allocs[0].ID); n != 0 {
		t.Fatalf("Jaeger restarted %d times under the flood (its memory: %d MiB)", n, limit>>20)
	}
	checkPeak(t, peak, limit)
}

// The Compose file's Jaeger runs the image's own configuration, which keeps 100,000
// traces, with the file's settings on top. Run as the file runs it, in a namespace of
// the test's own, it must stay under the container's memory limit when flooded.
func TestComposeJaegerStaysInItsMemory(t *testing.T) {
	svc, err := loadCompose(t).GetService("jaeger")
	if err != nil {
		t.Fatal(err)
	}
	if svc.MemLimit == 0 {
		t.Fatal("the compose file's jaeger has no mem_limit")
	}
	node, err := testbed.NewNet(t).AddNode("jaeger", 2)
	if err != nil {
		t.Fatal(err)
	}
	env := os.Environ()
	for k, v := range svc.Environment {
		env = append(env, k+"="+*v)
	}
	cmd := node.Command(testbed.Tool(t, "jaeger"), svc.Command...)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.KillAll(syscall.SIGKILL); cmd.Wait() })
	otlp := "http://" + node.IP + ":4318"
	testbed.Eventually(t, 30*time.Second, "Jaeger's OTLP receiver at %s", func() bool {
		code, _, err := httpGet(otlp + "/v1/traces")
		return err == nil && code > 0
	}, otlp)
	peak := floodJaeger(t, otlp, "http://"+node.IP+":16686", func() int64 { return jaegerRSS(node.Pids()) })
	checkPeak(t, peak, int64(svc.MemLimit))
}

// floodJaeger posts floodTraces traces to the OTLP/HTTP receiver at otlp and returns the
// highest RSS seen, 5 s after the last post too (the batch processor and the store
// catch up). Then the query API at query must have let the oldest trace go and kept the
// newest.
func floodJaeger(t *testing.T, otlp, query string, rss func() int64) int64 {
	const perPost = 250
	var peak int64
	var oldest, newest string
	start := time.Now()
	for sent := 0; sent < floodTraces; sent += perPost {
		body, first, last := loopTraces(perPost)
		if oldest == "" {
			oldest = first
		}
		newest = last
		resp, err := http.Post(otlp+"/v1/traces", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("after %d traces: %v", sent, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after %d traces: %s", sent, resp.Status)
		}
		peak = max(peak, rss())
	}
	time.Sleep(5 * time.Second)
	peak = max(peak, rss())
	t.Logf("%d traces in %s; Jaeger's peak RSS %.0f MiB", floodTraces, time.Since(start).Round(time.Second), float64(peak)/(1<<20))
	if code, _, err := httpGet(query + "/api/traces/" + newest); err != nil || code != 200 {
		t.Errorf("the newest trace: %d %v, want 200", code, err)
	}
	if code, _, err := httpGet(query + "/api/traces/" + oldest); err != nil || code != 404 {
		t.Errorf("the oldest of %d traces: %d %v, want 404 (let go for the newer ones)", floodTraces, code, err)
	}
	return peak
}

func checkPeak(t *testing.T, peak, limit int64) {
	t.Helper()
	if peak == 0 {
		t.Fatal("no Jaeger process seen")
	}
	if peak > limit {
		t.Fatalf("Jaeger's RSS reached %.0f MiB, over its %.0f MiB", float64(peak)/(1<<20), float64(limit)/(1<<20))
	}
}

// taskMemory is the memory, in MiB, the jaeger task is given.
func taskMemory(t *testing.T, s *lab.Stack, allocID string) int64 {
	t.Helper()
	a, _, err := s.Nomad.API().Allocations().Info(allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a.AllocatedResources.Tasks["jaeger"].Memory.MemoryMB
}

func restarts(t *testing.T, s *lab.Stack, allocID string) uint64 {
	a, _, err := s.Nomad.API().Allocations().Info(allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a.TaskStates["jaeger"].Restarts
}

// jaegerRSS is the RSS of the Jaeger processes among pids, 0 if none runs.
func jaegerRSS(pids []int) int64 {
	var rss int64
	for _, pid := range pids {
		if testbed.Comm(pid) == "jaeger" {
			n, _ := testbed.RSS(pid)
			rss += n
		}
	}
	return rss
}

// loopTraces is an OTLP/JSON export of n traces shaped as a worker loop's, heavier than
// what the services send (Jaeger's store copies the resource into every trace): the
// loop, its rng and hasher steps as spans rather than events, and two server spans with
// the slot event and the recommended attributes the services leave out, under a resource
// of nine attributes where theirs have three. So the memory limit holds with room.
func loopTraces(n int) (body []byte, first, last string) {
	var b bytes.Buffer
	b.WriteString(`{"resourceSpans":[{"resource":{"attributes":[`)
	for i, kv := range [][2]string{{"service.name", "flood"}, {"service.instance.id", randomHex(16)}, {"host.name", "node1"},
		{"service.version", "dev"}, {"telemetry.sdk.language", "go"}, {"telemetry.sdk.name", "opentelemetry"},
		{"telemetry.sdk.version", "1.47.0"}, {"process.runtime.name", "go"}, {"process.runtime.version", "go1.26.8"}} {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"key":%q,"value":{"stringValue":%q}}`, kv[0], kv[1])
	}
	b.WriteString(`]},"scopeSpans":[{"scope":{"name":"github.com/dockercoins/dockercoins"},"spans":[`)
	now := time.Now().UnixNano()
	for i := range n {
		trace, loop := randomHex(16), randomHex(8)
		if i > 0 {
			b.WriteByte(',')
		} else {
			first = trace
		}
		last = trace
		fmt.Fprintf(&b, `{"traceId":%q,"spanId":%q,"name":"loop","kind":1,"startTimeUnixNano":"%d","endTimeUnixNano":"%d",`+
			`"attributes":[{"key":"worker.batch_seq","value":{"intValue":"%d"}},{"key":"worker.coin","value":{"boolValue":false}}]}`,
			trace, loop, now, now+300e6, i)
		for _, name := range []string{"rng", "hasher"} {
			step := randomHex(8)
			fmt.Fprintf(&b, `,{"traceId":%q,"spanId":%q,"parentSpanId":%q,"name":%q,"kind":1,"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}`,
				trace, step, loop, name, now, now+100e6)
			fmt.Fprintf(&b, `,{"traceId":%q,"spanId":%q,"parentSpanId":%q,"name":"GET /{n}","kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d",`+
				`"events":[{"timeUnixNano":"%d","name":"entropy slot held","attributes":[{"key":"rng.waiting_ahead","value":{"intValue":"3"}}]}],"attributes":[`+
				`{"key":"http.request.method","value":{"stringValue":"GET"}},{"key":"url.path","value":{"stringValue":"/32"}},`+
				`{"key":"url.scheme","value":{"stringValue":"http"}},{"key":"server.address","value":{"stringValue":"10.0.0.11:8001"}},`+
				`{"key":"network.peer.address","value":{"stringValue":"10.0.0.12:53412"}},{"key":"http.response.status_code","value":{"intValue":"200"}},`+
				`{"key":"http.route","value":{"stringValue":"/{n}"}}]}`,
				trace, randomHex(8), step, now, now+100e6, now+50e6)
		}
	}
	b.WriteString(`]}]}]}`)
	return b.Bytes(), first, last
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
