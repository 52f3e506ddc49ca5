package peer

import (
	"context"
	"errors"
	"net/http"
	"testing"
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
