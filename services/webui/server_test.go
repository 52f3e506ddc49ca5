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

	"github.com/dockercoins/dockercoins"
)

// fakeStats answers with a fixed Stats, or err, and records the points asked for.
type fakeStats struct {
	stats  dockercoins.Stats
	err    error
	points []int
}

func (f *fakeStats) Read(_ context.Context, points int) (dockercoins.Stats, error) {
	f.points = append(f.points, points)
	if f.err != nil {
		return dockercoins.Stats{}, f.err
	}
	st := f.stats
	st.Series = make([]float64, points)
	return st, nil
}

func TestJSONHasTheOriginalFieldsAndTheSpeed(t *testing.T) {
	stats := &fakeStats{stats: dockercoins.Stats{Coins: 2, Hashes: 7, Now: 1_700_000_000.5, Speed: 3.5}}
	h := NewServer(slog.New(slog.DiscardHandler), stats, Console{})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/json?points=5", nil))
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if got["coins"] != 2.0 || got["hashes"] != 7.0 || got["now"] != 1_700_000_000.5 || got["speed"] != 3.5 {
		t.Fatalf("got %v", got)
	}
	if s := got["series"].([]any); len(s) != 5 {
		t.Fatalf("series has %d points, want 5", len(s))
	}
	if len(stats.points) != 1 || stats.points[0] != 5 {
		t.Fatalf("read with points %v, want [5]", stats.points)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/json", nil))
	if rec.Code != 200 || stats.points[len(stats.points)-1] != 60 {
		t.Fatalf("no points: got %d, read with %v, want 60 by default", rec.Code, stats.points)
	}

	asked := len(stats.points)
	for _, q := range []string{"0", "301", "x"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/json?points="+q, nil))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "points") {
			t.Errorf("points=%s: got %d %s", q, rec.Code, rec.Body)
		}
	}
	if len(stats.points) != asked {
		t.Errorf("bad requests reached the store: %v", stats.points[asked:])
	}
}

func TestJSONSaysWhenTheStoreIsDown(t *testing.T) {
	h := NewServer(slog.New(slog.DiscardHandler), &fakeStats{err: errors.New("connection refused")}, Console{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/json", nil))
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("got %d %s, want 503", rec.Code, rec.Body)
	}
	if msg, _ := got["error"].(string); !strings.Contains(msg, "connection refused") {
		t.Fatalf("error %q does not say why", msg)
	}
}

func TestPageAndScriptAreServed(t *testing.T) {
	h := NewServer(slog.New(slog.DiscardHandler), nil, Console{})
	for path, want := range map[string]string{"/": "<canvas", "/static/app.js": "getContext", "/static/style.css": "canvas"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: got %d, want a body with %q", path, rec.Code, want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/json", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Fatalf("POST /json: got %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}
