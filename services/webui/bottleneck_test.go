package webui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
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
	code, body := getBottleneck(t, fixedBreakdowns{err: errors.New("connection refused")})
	if code != http.StatusBadGateway || !strings.Contains(body["error"].(string), "connection refused") {
		t.Fatalf("%d %v", code, body)
	}
}
