package peer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// An instance whose queue is full answers 503 with Retry-After: the request goes on to
// another instance and succeeds there, whichever instance it started at.
func TestClientTakesABusyAnswerToAnotherInstance(t *testing.T) {
	busy, free := newBackend(t, "busy"), newBackend(t, "free")
	busy.status.Store(http.StatusServiceUnavailable)
	c := &Client{Service: "rng", Resolver: Static{"rng": {busy.addr(), free.addr()}}}
	for range 10 {
		out, err := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/32"})
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != "free /32 " {
			t.Fatalf("answer %q", out)
		}
	}
	t.Logf("tried: 10 requests over a busy (503) and a free instance; busy saw %d, free answered %d", busy.hits.Load(), free.hits.Load())
	if free.hits.Load() != 10 || busy.hits.Load() != 5 {
		t.Fatalf("busy saw %d, free %d; want 5 and 10", busy.hits.Load(), free.hits.Load())
	}
	// With every instance busy the caller gets the 503, to back off on.
	free.status.Store(http.StatusServiceUnavailable)
	_, err := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/32"})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable {
		t.Fatalf("every instance busy: err %v, want a 503", err)
	}
	t.Logf("every instance busy: %v", err)
}

// When every instance is busy, the error carries the longest Retry-After they gave, so
// the caller waits as asked; a Retry-After date already past asks for nothing.
func TestWaitIsTheLongestRetryAfter(t *testing.T) {
	retry := func(v string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", v)
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}))
		t.Cleanup(s.Close)
		return s
	}
	addr := func(s *httptest.Server) string { return s.Listener.Addr().String() }
	one, three, date := retry("1"), retry("3"), retry("Wed, 21 Oct 2015 07:28:00 GMT")
	c := &Client{Service: "rng", Resolver: Static{"rng": {addr(one), addr(three), addr(date)}}}
	_, err := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/32"})
	if got := Wait(fmt.Errorf("rng: %w", err)); got != 3*time.Second {
		t.Fatalf("Wait(%v) = %v, want 3s", err, got)
	}
	c = &Client{Service: "rng", Resolver: Static{"rng": {addr(date)}}}
	_, err = c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/32"})
	if got := Wait(err); got != 0 {
		t.Fatalf("a past HTTP-date Retry-After gave a wait of %v, want 0", got)
	}
	if got := Wait(errors.New("connection refused")); got != 0 {
		t.Fatalf("a plain error gave a wait of %v", got)
	}
}
