package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// backend is an HTTP server answering with its name, or with status when set.
type backend struct {
	*httptest.Server
	hits   atomic.Int64
	status atomic.Int64
}

func newBackend(t *testing.T, name string) *backend {
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if s := b.status.Load(); s != 0 {
			http.Error(w, "status set by the test", int(s))
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", name, r.URL.Path, body)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) addr() string { return b.Listener.Addr().String() }

func TestClientSpreadsRequestsEvenly(t *testing.T) {
	var bs []*backend
	var addrs []string
	for i := range 3 {
		b := newBackend(t, fmt.Sprint(i))
		bs = append(bs, b)
		addrs = append(addrs, b.addr())
	}
	c := &Client{Service: "rng", Resolver: Static{"rng": addrs}}
	for range 300 {
		if _, err := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/32"}); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range bs {
		if n := b.hits.Load(); n != 100 {
			t.Errorf("instance %d got %d of 300 requests, want 100", i, n)
		}
	}
}

func TestClientRetriesAnotherInstance(t *testing.T) {
	good := newBackend(t, "good")
	broken := newBackend(t, "broken")
	broken.status.Store(http.StatusInternalServerError)
	c := &Client{Service: "hasher", Resolver: Static{"hasher": {deadAddr(t), broken.addr(), good.addr()}}}
	// Whichever instance a request starts at, it ends at the good one, body intact.
	for range 6 {
		out, err := c.Do(context.Background(), Request{Method: http.MethodPost, Path: "/", Body: []byte("hello")})
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != "good / hello" {
			t.Fatalf("answer %q", out)
		}
	}
	if good.hits.Load() != 6 {
		t.Fatalf("good instance answered %d of 6", good.hits.Load())
	}
}

func TestClientDoesNotRetryARefusedRequest(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	a.status.Store(http.StatusBadRequest)
	b.status.Store(http.StatusBadRequest)
	c := &Client{Service: "rng", Resolver: Static{"rng": {a.addr(), b.addr()}}}
	_, err := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/0"})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest {
		t.Fatalf("err %v, want the 400", err)
	}
	if n := a.hits.Load() + b.hits.Load(); n != 1 {
		t.Fatalf("a 400 was tried on %d instances, want 1", n)
	}
}

func TestClientFailsWhenEveryInstanceFails(t *testing.T) {
	dead1, dead2 := deadAddr(t), deadAddr(t)
	c := &Client{Service: "rng", Resolver: Static{"rng": {dead1, dead2}}}
	_, err := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/32"})
	if err == nil || !strings.Contains(err.Error(), dead1) || !strings.Contains(err.Error(), dead2) {
		t.Fatalf("err %v, want both instances named", err)
	}
	_, err = (&Client{Service: "rng", Resolver: Static{}}).Do(context.Background(), Request{Method: http.MethodGet, Path: "/32"})
	if err == nil || !strings.Contains(err.Error(), "find rng") {
		t.Fatalf("err %v, want a failed lookup", err)
	}
}

func TestParseAddrs(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"", "", ""},
		{"127.0.0.1:8001", "127.0.0.1:8001", ""},
		{" http://127.0.0.1:8001/ , 10.0.0.2:8001,", "127.0.0.1:8001 10.0.0.2:8001", ""},
		{"localhost", "", "want host:port"},
		{"http://[::1", "", "address"},
	} {
		got, err := ParseAddrs(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseAddrs(%q): err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("ParseAddrs(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// deadAddr is a loopback address nothing listens on. (peertest has one too, but a test
// inside package peer cannot import it.)
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
