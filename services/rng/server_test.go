package rng

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestHelloNamesTheHost(t *testing.T) {
	rec := get(t, NewServer(Config{Hostname: "box1"}), "GET", "/")
	if rec.Code != 200 || rec.Body.String() != "RNG running on box1\n" {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
}

func TestRandomBytes(t *testing.T) {
	h := NewServer(Config{Slots: 1})
	for _, n := range []int{1, 32, MaxCount} {
		rec := get(t, h, "GET", "/"+strconv.Itoa(n))
		if rec.Code != 200 || rec.Body.Len() != n {
			t.Fatalf("/%d: got %d with %d bytes", n, rec.Code, rec.Body.Len())
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/octet-stream" {
			t.Fatalf("content type %q", ct)
		}
	}
	a, b := get(t, h, "GET", "/32").Body.String(), get(t, h, "GET", "/32").Body.String()
	if a == b {
		t.Fatal("two answers were the same bytes")
	}
}

func TestBadCountIs400WithAMessage(t *testing.T) {
	h := NewServer(Config{Slots: 1})
	for path, want := range map[string]string{
		"/abc":                     "whole number",
		"/-5":                      "at least 1",
		"/0":                       "at least 1",
		"/1048577":                 "at most 1048576",
		"/1e3":                     "whole number",
		"/99999999999999999999999": "whole number",
	} {
		rec := get(t, h, "GET", path)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: got %d %q, want 400 mentioning %q", path, rec.Code, rec.Body, want)
		}
	}
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	rec := get(t, NewServer(Config{Slots: 1}), "POST", "/32")
	if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Header().Get("Allow"), "GET") {
		t.Fatalf("got %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

// One slot: requests take turns, so n requests need at least n delays.
func TestOneSlotServesOneRequestAtATime(t *testing.T) {
	const n, delay = 4, 50 * time.Millisecond
	srv := httptest.NewServer(NewServer(Config{Slots: 1, Delay: delay}))
	defer srv.Close()
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { getStatus(t, srv.URL+"/8") })
	}
	wg.Wait()
	if took := time.Since(start); took < n*delay {
		t.Fatalf("%d requests took %s; serial service needs at least %s", n, took, n*delay)
	}
}

// The workshop's httping lesson: as in the original, GET / waits its turn behind the
// random-byte requests (without holding the slot itself), so its latency shows the queue.
func TestHelloWaitsItsTurn(t *testing.T) {
	const delay = 300 * time.Millisecond
	srv := httptest.NewServer(NewServer(Config{Slots: 1, Delay: delay, Hostname: "box1"}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/8", nil)
		go http.DefaultClient.Do(req)
		time.Sleep(20 * time.Millisecond) // in this order: one holds the slot, one waits
	}
	start := time.Now()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != 200 || string(body) != "RNG running on box1\n" {
		t.Fatalf("GET /: %d %q", resp.StatusCode, body)
	}
	// Two requests ahead: what is left of the first hold, then the whole second one.
	if took < delay+delay/2 {
		t.Fatalf("GET / answered after %v with two requests of %v ahead: it did not wait its turn", took, delay)
	}
	// It does not hold the slot: a request after it waits only for those ahead.
	if took > 4*delay {
		t.Fatalf("GET / took %v", took)
	}
}

// A caller that gives up leaves the line and does not hold the slot.
func TestCallerGivingUpLeavesTheLine(t *testing.T) {
	srv := httptest.NewServer(NewServer(Config{Slots: 1, Delay: 300 * time.Millisecond}))
	defer srv.Close()
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/8", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		cancel()
	}
	c := &http.Client{Timeout: 1200 * time.Millisecond}
	resp, err := c.Get(srv.URL + "/8")
	if err != nil {
		t.Fatalf("abandoned requests still held the slot: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(body) != 8 {
		t.Fatalf("got %d bytes", len(body))
	}
}

// getStatus GETs url and returns the answer's status, 0 (and a test error) if none came.
func getStatus(t *testing.T, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
