package hasher

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func post(h http.Handler, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", bytes.NewReader(body)))
	return rec
}

func TestHashIsHexSHA256(t *testing.T) {
	rec := post(NewServer(Config{}), []byte("abc"))
	want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q", ct)
	}
}

func TestBodyLimit(t *testing.T) {
	h := NewServer(Config{})
	if rec := post(h, make([]byte, MaxBody)); rec.Code != 200 {
		t.Fatalf("1 MiB: got %d", rec.Code)
	}
	rec := post(h, make([]byte, MaxBody+1))
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "1 MiB") {
		t.Fatalf("1 MiB + 1: got %d %q", rec.Code, rec.Body)
	}
}

func TestHelloAndWrongMethod(t *testing.T) {
	h := NewServer(Config{Hostname: "box2"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Body.String() != "HASHER running on box2\n" {
		t.Fatalf("got %q", rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("PUT", "/", nil))
	if allow := rec.Header().Get("Allow"); rec.Code != 405 || !strings.Contains(allow, "POST") {
		t.Fatalf("PUT: got %d, Allow %q", rec.Code, allow)
	}
}

// Hashes run side by side: n requests of a long delay finish in far less than n delays.
func TestRequestsRunConcurrently(t *testing.T) {
	const n, delay = 5, 400 * time.Millisecond
	srv := httptest.NewServer(NewServer(Config{Delay: delay}))
	defer srv.Close()
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := http.Post(srv.URL, "application/octet-stream", strings.NewReader("x"))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if took := time.Since(start); took >= n*delay/2 {
		t.Fatalf("%d requests took %s: they did not overlap", n, took)
	}
}

func FuzzHash(f *testing.F) {
	f.Add([]byte("abc"))
	f.Add([]byte{})
	h := NewServer(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := post(h, body)
		sum := sha256.Sum256(body)
		if rec.Code != 200 || rec.Body.String() != hex.EncodeToString(sum[:]) {
			t.Fatalf("got %d %q", rec.Code, rec.Body)
		}
	})
}
