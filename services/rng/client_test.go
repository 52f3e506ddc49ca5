package rng

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dockercoins/dockercoins/peer"
)

// request is what a fake rng saw of one call.
type request struct {
	method, path, contentType string
	body                      []byte
}

// fakeRNG serves answer to every request and keeps what it was sent; the client
// reaches it through a peer.Client, as the worker does.
func fakeRNG(t *testing.T, answer func(n string) []byte) (*Client, func() []request) {
	var mu sync.Mutex
	var seen []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), body})
		mu.Unlock()
		w.Write(answer(strings.TrimPrefix(r.URL.Path, "/")))
	}))
	t.Cleanup(srv.Close)
	c := &Client{Caller: &peer.Client{Service: "rng", Resolver: peer.Static{"rng": {srv.Listener.Addr().String()}}}}
	return c, func() []request {
		mu.Lock()
		defer mu.Unlock()
		return append([]request(nil), seen...)
	}
}

func TestClientAsksForTheBytesWithAGet(t *testing.T) {
	c, seen := fakeRNG(t, func(string) []byte { return bytes.Repeat([]byte{7}, 32) })
	b, err := c.Random(context.Background(), 32)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("got %x", b)
	}
	reqs := seen()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if r := reqs[0]; r.method != "GET" || r.path != "/32" || len(r.body) != 0 || r.contentType != "" {
		t.Fatalf("sent %s %s (Content-Type %q, %d body bytes), want GET /32 without a body", r.method, r.path, r.contentType, len(r.body))
	}
}

func TestClientRefusesAnAnswerOfTheWrongLength(t *testing.T) {
	for _, n := range []int{0, 31, 33} {
		c, _ := fakeRNG(t, func(string) []byte { return make([]byte, n) })
		if b, err := c.Random(context.Background(), 32); err == nil || !strings.Contains(err.Error(), "asked for 32") {
			t.Errorf("%d bytes for 32: got %d bytes, err %v", n, len(b), err)
		}
	}
}

func TestClientRefusesABadCountWithoutCalling(t *testing.T) {
	c, seen := fakeRNG(t, func(string) []byte { return nil })
	for _, n := range []int{0, -1, MaxCount + 1} {
		if _, err := c.Random(context.Background(), n); err == nil {
			t.Errorf("Random(%d) succeeded", n)
		}
	}
	if n := len(seen()); n != 0 {
		t.Fatalf("%d requests sent for bad counts", n)
	}
}
