package telemetry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// scriptedCollector answers each export attempt with the next of its answers (the last
// one repeats). An answer of 0 closes the connection without answering.
type scriptedCollector struct {
	srv      *httptest.Server
	attempts atomic.Int32
	mu       sync.Mutex
	at       []time.Time // when each attempt came
	header   http.Header // of the last attempt
}

type answer struct {
	status      int
	retryAfter  string
	contentType string
	body        string
}

func newScriptedCollector(t *testing.T, answers ...answer) *scriptedCollector {
	c := &scriptedCollector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := decodeRequest(r.Header.Get("Content-Type"), body); err != nil {
			t.Errorf("attempt with a body that is not an OTLP request in its Content-Type %q: %v", r.Header.Get("Content-Type"), err)
		}
		n := int(c.attempts.Add(1)) - 1
		c.mu.Lock()
		c.at = append(c.at, time.Now())
		c.header = r.Header.Clone()
		c.mu.Unlock()
		a := answers[min(n, len(answers)-1)]
		if a.status == 0 {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
			return
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		if a.contentType != "" {
			w.Header().Set("Content-Type", a.contentType)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// fastRetry keeps the tests short; the waits keep their shape.
var fastRetry = retryPolicy{initial: 20 * time.Millisecond, maxWait: 50 * time.Millisecond, maxElapsed: 2 * time.Second}

func exportTo(t *testing.T, c *scriptedCollector, headers map[string]string) (*otlpExporter, error) {
	return exportIn(t, c, ProtocolProtobuf, headers)
}

func exportIn(t *testing.T, c *scriptedCollector, protocol string, headers map[string]string) (*otlpExporter, error) {
	e := newExporter(c.srv.URL+"/v1/traces", protocol, headers)
	e.retry = fastRetry
	t.Cleanup(func() { e.Shutdown(context.Background()) })
	return e, e.ExportSpans(context.Background(), asData(sampleSpans(t)...))
}

func TestExportSendsEachProtocolWithTheHeaders(t *testing.T) {
	for protocol, contentType := range map[string]string{ProtocolProtobuf: "application/x-protobuf", ProtocolJSON: "application/json"} {
		c := newScriptedCollector(t, answer{status: 200})
		if _, err := exportIn(t, c, protocol, map[string]string{"Authorization": "Bearer x"}); err != nil {
			t.Fatal(err)
		}
		if c.header.Get("Content-Type") != contentType || c.header.Get("Authorization") != "Bearer x" {
			t.Errorf("%s: request headers %v", protocol, c.header)
		}
	}
}

func TestExportRetriesWhatACollectorRecoversFrom(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  []answer
		attempts int32
	}{
		{"connection closed", []answer{{status: 0}, {status: 0}, {status: 200}}, 3},
		{"429 then 502, 504", []answer{{status: 429}, {status: 502}, {status: 504}, {status: 200}}, 4},
		{"503", []answer{{status: 503, body: "busy"}, {status: 200}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newScriptedCollector(t, tc.answers...)
			if _, err := exportTo(t, c, nil); err != nil {
				t.Fatalf("export failed: %v", err)
			}
			if n := c.attempts.Load(); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
		})
	}
}

func TestExportWaitsTheRetryAfterItIsTold(t *testing.T) {
	c := newScriptedCollector(t, answer{status: 503, retryAfter: "1"}, answer{status: 200})
	if _, err := exportTo(t, c, nil); err != nil {
		t.Fatal(err)
	}
	if len(c.at) != 2 {
		t.Fatalf("%d attempts, want 2", len(c.at))
	}
	if wait := c.at[1].Sub(c.at[0]); wait < time.Second {
		t.Errorf("retried after %v, before the 1 s Retry-After", wait)
	}
}

func TestExportGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  []answer
		attempts int32
		want     string
	}{
		// A request the collector refuses will be refused again: no retry.
		{"400", []answer{{status: 400, body: "bad span"}}, 1, "400 Bad Request: bad span"},
		{"404", []answer{{status: 404}}, 1, "404 Not Found: (empty)"},
		// A Retry-After past the time left is not waited for.
		{"Retry-After too long", []answer{{status: 429, retryAfter: "60"}}, 1, "asked to wait 1m0s"},
		// Taken, but some spans rejected.
		{"partial success", []answer{{status: 200, contentType: "application/json",
			body: `{"partialSuccess":{"rejectedSpans":"2","errorMessage":"too old"}}`}}, 1, "rejected 2 spans: too old"},
		// Failing on: the attempts stop when the retry time is up.
		{"always 503", []answer{{status: 503}}, -1, "gave up after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newScriptedCollector(t, tc.answers...)
			start := time.Now()
			_, err := exportTo(t, c, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			n := c.attempts.Load()
			if tc.attempts > 0 && n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if tc.attempts < 0 {
				if took := time.Since(start); took < fastRetry.maxElapsed || took > fastRetry.maxElapsed+time.Second || n < 10 {
					t.Errorf("gave up after %v and %d attempts; want just past %v", took, n, fastRetry.maxElapsed)
				}
			}
		})
	}
}

func TestExportToNothingListeningFailsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := newExporter("http://"+addr+"/v1/traces", ProtocolProtobuf, nil)
	start := time.Now()
	err = e.ExportSpans(context.Background(), asData(sampleSpans(t)...))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("export to a closed port: %v", err)
	}
	if took := time.Since(start); took > e.retry.initial {
		t.Errorf("a refused export took %v: it was retried", took)
	}
}

func TestShutdownStopsExports(t *testing.T) {
	c := newScriptedCollector(t, answer{status: 503})
	e := newExporter(c.srv.URL+"/v1/traces", ProtocolProtobuf, nil)
	e.retry = retryPolicy{initial: 50 * time.Millisecond, maxWait: 50 * time.Millisecond, maxElapsed: time.Minute}
	done := make(chan error, 1)
	go func() { done <- e.ExportSpans(context.Background(), asData(sampleSpans(t)...)) }()
	for c.attempts.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("export under way ended with %v, want it cancelled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("export under way still retrying after Shutdown")
	}
	n := c.attempts.Load()
	if err := e.ExportSpans(context.Background(), asData(sampleSpans(t)...)); !errors.Is(err, errExporterStopped) {
		t.Errorf("export after Shutdown: %v", err)
	}
	if c.attempts.Load() != n {
		t.Error("an export after Shutdown reached the collector")
	}
}
