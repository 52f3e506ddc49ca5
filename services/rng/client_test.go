package rng

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/dockercoins/dockercoins/peer/peertest"
)

// fakeRNG serves answer to every request and keeps what it was sent; the client
// reaches it through a peer.Client, as the worker does.
func fakeRNG(t *testing.T, answer func(n string) []byte) (*Client, *peertest.Server) {
	srv := peertest.NewServer(t, "rng", func(r peertest.Request) []byte { return answer(strings.TrimPrefix(r.Path, "/")) })
	return &Client{Caller: srv.Client()}, srv
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
	reqs := seen.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if r := reqs[0]; r.Method != "GET" || r.Path != "/32" || len(r.Body) != 0 || r.ContentType != "" {
		t.Fatalf("sent %s %s (Content-Type %q, %d body bytes), want GET /32 without a body", r.Method, r.Path, r.ContentType, len(r.Body))
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
	if n := len(seen.Requests()); n != 0 {
		t.Fatalf("%d requests sent for bad counts", n)
	}
}
