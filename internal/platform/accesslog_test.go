package platform

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAccessLogWritesOneLinePerRequest(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	h := accessLog(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	}))
	for _, path := range []string{"/32", "/missing"} {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = "10.0.0.7:4242"
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	var lines []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d log lines for 2 requests: %v", len(lines), lines)
	}
	for i, want := range []struct {
		path   string
		status float64
	}{{"/32", 200}, {"/missing", 404}} {
		l := lines[i]
		if l["msg"] != "request" || l["method"] != "GET" || l["path"] != want.path || l["status"] != want.status || l["caller"] != "10.0.0.7:4242" || l["duration"] == nil {
			t.Errorf("line %d: %v, want GET %s %v from 10.0.0.7:4242 with a duration", i, l, want.path, want.status)
		}
	}
}
