package webui

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dockercoins/dockercoins/redis"
	"github.com/dockercoins/dockercoins/test/testbed"
)

func TestJSONHasTheOriginalFieldsAndTheSpeed(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	if _, err := (&redis.Ledger{Client: c, Worker: "w"}).Apply(context.Background(),
		redis.Batch{Seq: 1, Hashes: 7, Coins: map[string][]byte{"0ab": {1}, "0cd": {2}}}); err != nil {
		t.Fatal(err)
	}
	h := NewServer(slog.New(slog.DiscardHandler), &redis.Reader{Client: c}, nil)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/json?points=5", nil))
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if got["coins"] != 2.0 || got["hashes"] != 7.0 || got["now"].(float64) < 1e9 {
		t.Fatalf("got %v", got)
	}
	if s := got["series"].([]any); len(s) != 5 {
		t.Fatalf("series has %d points, want 5", len(s))
	}

	for _, q := range []string{"0", "301", "x"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/json?points="+q, nil))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "points") {
			t.Errorf("points=%s: got %d %s", q, rec.Code, rec.Body)
		}
	}
}

func TestPageAndScriptAreServed(t *testing.T) {
	h := NewServer(slog.New(slog.DiscardHandler), nil, nil)
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
