package webui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/telemetry/jaeger"
)

// fakeNomad is a scheduler in memory that records scale requests.
type fakeNomad struct {
	counts   map[string]int
	allocs   []nomad.Alloc
	scaleErr error
	scaled   []string
}

func (f *fakeNomad) Allocations(string) ([]nomad.Alloc, error)   { return f.allocs, nil }
func (f *fakeNomad) Counts(string) (map[string]int, bool, error) { return f.counts, true, nil }
func (f *fakeNomad) Scale(job, group string, n int) (uint64, error) {
	if f.scaleErr != nil {
		return 0, f.scaleErr
	}
	f.scaled = append(f.scaled, job+"/"+group+"="+fmt.Sprint(n))
	return 2, nil
}

func postScale(t *testing.T, h http.Handler, body string, header map[string]string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("POST", "/scale", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out struct{ Error string }
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out.Error
}

func TestScalingIsRefusedUnlessEnabled(t *testing.T) {
	f := &fakeNomad{counts: map[string]int{"rng": 1}}
	h := NewServer(slog.New(slog.DiscardHandler), nil, Console{Nomad: f})
	if code, msg := postScale(t, h, `{"group":"rng","delta":1}`, nil); code != http.StatusForbidden || !strings.Contains(msg, "WEBUI_SCALING") {
		t.Fatalf("got %d %q, want 403 naming the setting", code, msg)
	}
	h = NewServer(slog.New(slog.DiscardHandler), nil, Console{Scaling: true})
	if code, msg := postScale(t, h, `{"group":"rng","delta":1}`, nil); code != http.StatusForbidden || !strings.Contains(msg, "NOMAD_ADDR") {
		t.Fatalf("without Nomad: got %d %q", code, msg)
	}
	if len(f.scaled) != 0 {
		t.Fatalf("scaled %v", f.scaled)
	}
}

func TestScalingAddsOneAndRefusesOtherSites(t *testing.T) {
	f := &fakeNomad{counts: map[string]int{"rng": 1, "webui": 1}}
	h := NewServer(slog.New(slog.DiscardHandler), nil, Console{Nomad: f, Scaling: true})
	if code, msg := postScale(t, h, `{"group":"rng","delta":1}`, map[string]string{"Origin": "http://example.com"}); code != http.StatusOK {
		t.Fatalf("same origin: %d %q", code, msg)
	}
	if len(f.scaled) != 1 || f.scaled[0] != "dockercoins/rng=2" {
		t.Fatalf("scaled %v, want rng to 2", f.scaled)
	}
	for _, c := range []struct {
		body   string
		header map[string]string
		want   int
	}{
		{`{"group":"rng","delta":1}`, map[string]string{"Origin": "http://evil.test"}, http.StatusForbidden},
		{`{"group":"rng","delta":1}`, map[string]string{"Content-Type": "text/plain"}, http.StatusForbidden},
		{`{"group":"redis","delta":1}`, nil, http.StatusBadRequest},
		{`{"group":"rng","delta":5}`, nil, http.StatusBadRequest},
		{`not json`, nil, http.StatusBadRequest},
		{`{"group":"webui","delta":-1}`, nil, http.StatusConflict},
	} {
		if code, msg := postScale(t, h, c.body, c.header); code != c.want || msg == "" {
			t.Errorf("%s %v: got %d %q, want %d with a reason", c.body, c.header, code, msg, c.want)
		}
	}
	if len(f.scaled) != 1 {
		t.Fatalf("refused requests scaled: %v", f.scaled)
	}
}

func TestScalingExplainsNomadsRefusal(t *testing.T) {
	f := &fakeNomad{counts: map[string]int{"rng": 1}, scaleErr: errors.New("Unexpected response code: 400 (job scaling blocked due to active deployment)")}
	h := NewServer(slog.New(slog.DiscardHandler), nil, Console{Nomad: f, Scaling: true})
	if code, msg := postScale(t, h, `{"group":"rng","delta":1}`, nil); code != http.StatusBadGateway || !strings.Contains(msg, "still rolling out") {
		t.Fatalf("got %d %q", code, msg)
	}
}

// A loop trace as Jaeger answers it: loop > rng > wait, hold; the wait is the longest
// leaf, though the rng call that holds it is longer.
func TestWaterfallNamesTheLongestLeaf(t *testing.T) {
	ref := func(id string) []jaeger.Reference {
		return []jaeger.Reference{{RefType: "CHILD_OF", TraceID: "t", SpanID: id}}
	}
	tr := jaeger.Trace{TraceID: "t", Processes: map[string]jaeger.Process{"w": {ServiceName: "worker"}, "r": {ServiceName: "rng"}},
		Spans: []jaeger.Span{
			{TraceID: "t", SpanID: "hold", OperationName: "hold entropy slot", References: ref("rng"), StartTime: 1_600_000, Duration: 100_000, ProcessID: "r"},
			{TraceID: "t", SpanID: "loop", OperationName: "loop", StartTime: 1_000_000, Duration: 900_000, ProcessID: "w"},
			{TraceID: "t", SpanID: "rng", OperationName: "rng", References: ref("loop"), StartTime: 1_100_000, Duration: 600_000, ProcessID: "w",
				Tags: []jaeger.KeyValue{{Key: "rng.slots", Value: 1.0}}},
			{TraceID: "t", SpanID: "wait", OperationName: "wait for entropy slot", References: ref("rng"), StartTime: 1_100_000, Duration: 500_000, ProcessID: "r"},
		}}
	w := (&traces{uiURL: "http://jaeger:16686/"}).waterfall(tr)
	var order []string
	for _, s := range w.Spans {
		order = append(order, s.ID)
	}
	if strings.Join(order, ",") != "loop,rng,wait,hold" || w.Spans[2].Depth != 2 || w.Spans[2].Start != 100 {
		t.Fatalf("spans %+v", w.Spans)
	}
	if w.Longest == nil || w.Longest.Name != "wait for entropy slot" || w.Longest.Service != "rng" || w.Duration != 900 {
		t.Fatalf("longest %+v of %v ms", w.Longest, w.Duration)
	}
	if w.Spans[1].Attrs["rng.slots"] != "1" || w.UIURL != "http://jaeger:16686/trace/t" {
		t.Fatalf("attrs %v, link %s", w.Spans[1].Attrs, w.UIURL)
	}
}

// rng marks the moment it takes its entropy slot with an event on its request span;
// the waterfall draws the wait and the hold as bars below it, the wait the longest.
func TestWaterfallSplitsRngAtTheSlotEvent(t *testing.T) {
	ref := func(id string) []jaeger.Reference {
		return []jaeger.Reference{{RefType: "CHILD_OF", TraceID: "t", SpanID: id}}
	}
	held := jaeger.Log{Timestamp: 1_700_000, Fields: []jaeger.KeyValue{{Key: "event", Value: "entropy slot held"}, {Key: "rng.waiting_ahead", Value: 5.0}}}
	tr := jaeger.Trace{TraceID: "t", Processes: map[string]jaeger.Process{"w": {ServiceName: "worker"}, "r": {ServiceName: "rng"}},
		Spans: []jaeger.Span{
			{TraceID: "t", SpanID: "loop", OperationName: "loop", StartTime: 1_000_000, Duration: 900_000, ProcessID: "w"},
			{TraceID: "t", SpanID: "rng", OperationName: "rng", References: ref("loop"), StartTime: 1_100_000, Duration: 700_000, ProcessID: "w"},
			{TraceID: "t", SpanID: "get", OperationName: "GET /{n}", References: ref("rng"), StartTime: 1_150_000, Duration: 650_000, ProcessID: "r",
				Logs: []jaeger.Log{held}},
		}}
	w := (&traces{}).waterfall(tr)
	var order []string
	for _, s := range w.Spans {
		order = append(order, s.Name+"@"+fmt.Sprint(s.Start)+"+"+fmt.Sprint(s.Duration))
	}
	if got := strings.Join(order, ","); got != "loop@0+900,rng@100+700,GET /{n}@150+650,wait for entropy slot@150+550,hold entropy slot@700+100" {
		t.Fatalf("bars %s", got)
	}
	if w.Longest == nil || w.Longest.Name != "wait for entropy slot" || w.Longest.Attrs["rng.waiting_ahead"] != "5" {
		t.Fatalf("longest %+v", w.Longest)
	}
}

func TestPlaceJoinsConsulAndNomadByAllocation(t *testing.T) {
	instances := []Instance{
		{ID: "_nomad-task-aaaaaaaa-1111-rng-rng-rng-http", Node: "consul-n1", Addr: "10.0.0.11:2000", Health: "passing"},
		{ID: "rng-127.0.0.1-8001", Node: "laptop", Addr: "127.0.0.1:8001", Health: "critical"},
	}
	allocs := []nomad.Alloc{
		{ID: "aaaaaaaa-1111", Group: "rng", Node: "n1", Status: "running", Desired: "run"},
		{ID: "bbbbbbbb-2222", Group: "rng", Node: "n2", Status: "pending", Desired: "run", Addrs: map[string]string{"http": "10.0.0.12:2001"}},
		{ID: "cccccccc-3333", Group: "rng", Node: "n3", Status: "complete", Desired: "stop"},
		{ID: "dddddddd-4444", Group: "worker", Node: "n3", Status: "running", Desired: "run"},
	}
	got := place(instances, allocs, "rng")
	b, _ := json.Marshal(got)
	want := `[{"node":"laptop","instances":[{"addr":"127.0.0.1:8001","health":"critical","alloc":"","alloc_status":""}]},` +
		`{"node":"n1","instances":[{"addr":"10.0.0.11:2000","health":"passing","alloc":"aaaaaaaa","alloc_status":"running"}]},` +
		`{"node":"n2","instances":[{"addr":"10.0.0.12:2001","health":"not registered","alloc":"bbbbbbbb","alloc_status":"pending"}]}]`
	if string(b) != want {
		t.Fatalf("\n got %s\nwant %s", b, want)
	}
}

var _ TraceSource = (*jaeger.Client)(nil)
var _ Scheduler = (*nomad.Client)(nil)

// fakeTraces is a Jaeger holding the given traces.
type fakeTraces []jaeger.Trace

func (f fakeTraces) Traces(context.Context, jaeger.Query) ([]jaeger.Trace, error) { return f, nil }
func (f fakeTraces) Trace(context.Context, string) (jaeger.Trace, error)          { return f[0], nil }

// The list offers whole completed loops first, slowest first; a loop whose rng or
// hasher spans have not arrived yet, then a failed one, come after, however slow.
func TestLoopListRanksWholeLoopsFirst(t *testing.T) {
	procs := map[string]jaeger.Process{"w": {ServiceName: "worker"}, "r": {ServiceName: "rng"}, "h": {ServiceName: "hasher"}}
	loop := func(id string, ms int64, failed bool, services ...string) jaeger.Trace {
		root := jaeger.Span{TraceID: id, SpanID: id, OperationName: "loop", Duration: ms * 1000, ProcessID: "w"}
		if failed {
			root.Tags = []jaeger.KeyValue{{Key: "error", Value: true}}
		}
		tr := jaeger.Trace{TraceID: id, Processes: procs, Spans: []jaeger.Span{root}}
		for _, p := range services {
			tr.Spans = append(tr.Spans, jaeger.Span{TraceID: id, SpanID: id + p, OperationName: "x", ProcessID: p,
				References: []jaeger.Reference{{RefType: "CHILD_OF", TraceID: id, SpanID: id}}})
		}
		return tr
	}
	src := fakeTraces{loop("a", 300, false, "r", "h"), loop("partial", 900, false, "r"),
		loop("b", 500, false, "r", "h"), loop("failed", 990, true, "r"), loop("c", 400, false, "r", "h")}
	got, err := (&traces{source: src}).listLoops(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, l := range got {
		order = append(order, l.ID)
	}
	if strings.Join(order, ",") != "b,c,a,partial,failed" || !got[3].Partial || got[0].Partial || !got[4].Failed {
		t.Fatalf("list %+v, want b,c,a,partial,failed", got)
	}
}
