package hasher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/dockercoins/dockercoins/peer/peertest"
)

// fakeHasher answers every request with answer(body) and keeps what it was sent; the
// client reaches it through a peer.Client, as the worker does.
func fakeHasher(t *testing.T, answer func(body []byte) string) (*Client, *peertest.Server) {
	srv := peertest.NewServer(t, "hasher", func(r peertest.Request) []byte { return []byte(answer(r.Body)) })
	return &Client{Caller: srv.Client()}, srv
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestClientPostsTheBytesAsOctetStream(t *testing.T) {
	c, seen := fakeHasher(t, sha)
	data := bytes.Repeat([]byte{0, 7, 255}, 11)
	got, err := c.Hash(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if got != sha(data) {
		t.Fatalf("got %s, want %s", got, sha(data))
	}
	reqs := seen.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if r := reqs[0]; r.Method != "POST" || r.Path != "/" || r.ContentType != "application/octet-stream" || !bytes.Equal(r.Body, data) {
		t.Fatalf("sent %s %s, Content-Type %q, body %x; want POST / application/octet-stream with %x", r.Method, r.Path, r.ContentType, r.Body, data)
	}
}

func TestClientRefusesAnAnswerThatIsNoHexSHA256(t *testing.T) {
	for _, answer := range []string{
		"",
		"hello",
		strings.Repeat("a", 63),
		strings.Repeat("a", 65),
		strings.Repeat("g", 64), // the right length, not hex
		"HASHER running on localhost\n",
	} {
		c, _ := fakeHasher(t, func([]byte) string { return answer })
		if got, err := c.Hash(context.Background(), []byte("x")); err == nil || !strings.Contains(err.Error(), "not a hex SHA-256") {
			t.Errorf("answer %q: got %q, err %v", answer, got, err)
		}
	}
}

func TestClientRefusesAnOversizedBodyWithoutCalling(t *testing.T) {
	c, seen := fakeHasher(t, sha)
	if _, err := c.Hash(context.Background(), make([]byte, MaxBody+1)); err == nil {
		t.Fatal("an oversized body was accepted")
	}
	if n := len(seen.Requests()); n != 0 {
		t.Fatalf("%d requests sent for an oversized body", n)
	}
}
