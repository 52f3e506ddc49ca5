package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// The jaeger job keeps its traces in memory, up to max_traces, under the memory Nomad
// gives the task. Flooded with five times the traces it keeps, it must stay inside that
// memory: an OOM kill restarts it empty, and every trace a learner was looking at is
// gone (with max_traces at 100,000 in 256 MB, it was killed after 83,500).
func TestJaegerJobStaysInItsMemory(t *testing.T) {
	const traces, perPost = 100000, 250
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
	otlp := "http://" + allocs[0].Addrs["otlp"] + "/v1/traces"
	limit := taskMemory(t, s, allocs[0].ID)

	var peak int64
	start := time.Now()
	for sent := 0; sent < traces; sent += perPost {
		resp, err := http.Post(otlp, "application/json", bytes.NewReader(loopTraces(perPost)))
		if err != nil {
			t.Fatalf("after %d traces: %v (restarts: %d)", sent, err, restarts(t, s, allocs[0].ID))
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after %d traces: %s", sent, resp.Status)
		}
		peak = max(peak, jaegerRSS(dev))
	}
	time.Sleep(5 * time.Second) // the batch processor and the store catch up
	peak = max(peak, jaegerRSS(dev))
	t.Logf("%d traces of 5 spans in %s; Jaeger's peak RSS %.0f MiB of %d MiB", traces, time.Since(start).Round(time.Second), float64(peak)/(1<<20), limit)
	if n := restarts(t, s, allocs[0].ID); n != 0 {
		t.Fatalf("Jaeger restarted %d times under the flood (its memory: %d MiB)", n, limit)
	}
	if peak > limit<<20 {
		t.Fatalf("Jaeger's RSS reached %.0f MiB, over its %d MiB", float64(peak)/(1<<20), limit)
	}
	code, body, err := httpGet("http://" + allocs[0].Addrs["query"] + "/api/services")
	if err != nil || code != 200 || !strings.Contains(body, "flood") {
		t.Fatalf("query API after the flood: %d %s %v", code, body, err)
	}
}

// taskMemory is the memory, in MiB, the jaeger task is given.
func taskMemory(t *testing.T, s *lab.Stack, allocID string) int64 {
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

// jaegerRSS is the RSS of the Jaeger process in the dev node, 0 if none runs.
func jaegerRSS(dev *testbed.NomadDev) int64 {
	var rss int64
	for _, pid := range dev.Node.Pids() {
		if testbed.Comm(pid) == "jaeger" {
			n, _ := testbed.RSS(pid)
			rss += n
		}
	}
	return rss
}

// loopTraces is an OTLP/JSON export of n traces shaped as a worker loop's: the loop,
// its rng and hasher steps, and rng's and hasher's server spans.
func loopTraces(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"flood"}}]},"scopeSpans":[{"scope":{"name":"flood"},"spans":[`)
	now := time.Now().UnixNano()
	for i := range n {
		trace := randomHex(16)
		loop := randomHex(8)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"traceId":%q,"spanId":%q,"name":"loop","kind":1,"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}`, trace, loop, now, now+300e6)
		for _, name := range []string{"rng", "hasher", "GET /{n}", "POST /{$}"} {
			fmt.Fprintf(&b, `,{"traceId":%q,"spanId":%q,"parentSpanId":%q,"name":%q,"kind":1,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":[{"key":"http.route","value":{"stringValue":"/"}}]}`,
				trace, randomHex(8), loop, name, now, now+100e6)
		}
	}
	b.WriteString(`]}]}]}`)
	return b.Bytes()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
