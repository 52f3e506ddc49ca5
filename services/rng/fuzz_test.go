package rng

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func FuzzParseCount(f *testing.F) {
	for _, s := range []string{"32", "0", "-1", "abc", "1048576", "1048577", "+7", "007", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseCount(s)
		if err != nil {
			return
		}
		if n < 1 || n > MaxCount {
			t.Fatalf("parseCount(%q) = %d, outside 1..%d", s, n, MaxCount)
		}
		if m, _ := strconv.Atoi(s); m != n {
			t.Fatalf("parseCount(%q) = %d, want %d", s, n, m)
		}
	})
}

// FuzzPath sends any path segment through the whole handler: it answers 200 with
// exactly the bytes asked for, or 400; never anything else, never a panic.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"32", "x", "-0", "%00", "9999999", ""} {
		f.Add(s)
	}
	h := NewServer(Config{Slots: 1})
	f.Fuzz(func(t *testing.T, s string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.URL = &url.URL{Path: "/" + s}
		h.ServeHTTP(rec, req)
		switch {
		case s == "": // GET /: the hello line, after its turn (the slot is free here)
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "RNG running on") {
				t.Fatalf("GET /: %d %q", rec.Code, rec.Body)
			}
		case rec.Code == http.StatusOK:
			if n, _ := parseCount(s); rec.Body.Len() != n {
				t.Fatalf("%q: %d bytes for a request of %d", s, rec.Body.Len(), n)
			}
		case rec.Code == http.StatusBadRequest, rec.Code == http.StatusNotFound:
		case rec.Code/100 == 3: // "." and ".." redirect to the cleaned path
		default:
			t.Fatalf("%q: status %d", s, rec.Code)
		}
	})
}
