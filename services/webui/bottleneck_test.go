package webui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dockercoins/dockercoins/telemetry/bottleneck"
)

type fixedBreakdowns struct {
	b   Breakdown
	err error
}

func (f fixedBreakdowns) Breakdown(context.Context) (Breakdown, error) { return f.b, f.err }

func getBottleneck(t *testing.T, b Breakdowns) (int, map[string]any) {
	t.Helper()
	h := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, Console{Breakdowns: b})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/bottleneck", nil))
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %s", rec.Body)
	}
	return rec.Code, m
}

func TestBottleneckPanelIsOffWithoutJaeger(t *testing.T) {
	code, body := getBottleneck(t, nil)
	if code != http.StatusNotFound || !strings.Contains(body["error"].(string), "JAEGER_QUERY_URL") {
		t.Fatalf("%d %v", code, body)
	}
}

func TestBottleneckServesTheReport(t *testing.T) {
	r := bottleneck.Analyze(nil)
	code, body := getBottleneck(t, fixedBreakdowns{b: Breakdown{Report: r, SearchURL: "http://j/search"}})
	rep, _ := body["report"].(map[string]any)
	if code != http.StatusOK || rep["verdict"] != r.Verdict || body["search_url"] != "http://j/search" {
		t.Fatalf("%d %v", code, body)
	}
}

func TestBottleneckSaysWhenJaegerFails(t *testing.T) {
	code, body := getBottleneck(t, fixedBreakdowns{err: errors.New("unexpected EOF")})
	if code != http.StatusBadGateway || !strings.Contains(body["error"].(string), "unexpected EOF") {
		t.Fatalf("%d %v", code, body)
	}
}

// A Jaeger that refuses connections, as it does until make up has built and started
// it, is said to be coming, not broken.
func TestBottleneckSaysTracingIsComingWhileJaegerIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	code, body := getBottleneck(t, newJaegerBreakdowns(url, url))
	if code != http.StatusServiceUnavailable || !strings.Contains(body["error"].(string), "tracing is coming") {
		t.Fatalf("%d %v", code, body)
	}
}
