package consul

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// fakeAgent answers /v1/agent/connect/authorize after hold (or never, while hang is
// set), and counts the calls per caller.
type fakeAgent struct {
	*httptest.Server
	calls   atomic.Int64
	hang    chan struct{} // closed to release hung calls
	hanging atomic.Bool
}

func newFakeAgent(t *testing.T) *fakeAgent {
	f := &fakeAgent{hang: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if f.hanging.Load() {
			<-f.hang
			return
		}
		time.Sleep(50 * time.Millisecond) // long enough for concurrent callers to meet
		var p api.AgentAuthorizeParams
		json.NewDecoder(r.Body).Decode(&p)
		json.NewEncoder(w).Encode(api.AgentAuthorize{Authorized: p.ClientCertURI == "spiffe://x/svc/worker", Reason: "fake"})
	}))
	t.Cleanup(func() { close(f.hang); f.Close() })
	return f
}

func authorizer(t *testing.T, f *fakeAgent, timeout time.Duration) *Authorizer {
	a, err := NewAuthorizer(api.Config{Address: f.URL}, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Twenty concurrent requests of one caller make one agent call; a second caller makes
// its own; the answers are cached for the TTL.
func TestAuthorizerAsksOncePerCallerIdentity(t *testing.T) {
	f := newFakeAgent(t)
	a := authorizer(t, f, time.Second)
	var wg sync.WaitGroup
	var allowed, refused atomic.Int64
	for i := range 40 {
		wg.Go(func() {
			uri := "spiffe://x/svc/worker"
			if i%2 == 1 {
				uri = "spiffe://x/svc/intruder"
			}
			ok, _, err := a.Authorize("rng", uri, "01")
			switch {
			case err != nil:
				t.Error(err)
			case ok:
				allowed.Add(1)
			default:
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("tried: 40 concurrent checks, 20 each from two callers; the agent saw %d calls; %d allowed, %d refused", f.calls.Load(), allowed.Load(), refused.Load())
	if f.calls.Load() != 2 || allowed.Load() != 20 || refused.Load() != 20 {
		t.Fatalf("want 2 agent calls, 20 allowed, 20 refused")
	}
	a.Authorize("rng", "spiffe://x/svc/worker", "01")
	if f.calls.Load() != 2 {
		t.Fatalf("a cached answer went to the agent again: %d calls", f.calls.Load())
	}
}

// An agent that accepts the call and never answers costs each caller the timeout and
// an error, and concurrent callers of one identity share one hung call.
func TestAuthorizerTimesOutOnAHungAgent(t *testing.T) {
	f := newFakeAgent(t)
	f.hanging.Store(true)
	const timeout = 300 * time.Millisecond
	a := authorizer(t, f, timeout)
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 20 {
		wg.Go(func() {
			if _, _, err := a.Authorize("rng", "spiffe://x/svc/worker", "01"); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	t.Logf("tried: 20 concurrent checks against an agent that never answers (timeout %s); %d failed after %s; the agent saw %d calls", timeout, failed.Load(), took, f.calls.Load())
	if failed.Load() != 20 || took > 3*timeout || f.calls.Load() != 1 {
		t.Fatalf("want 20 failures within %s from 1 call", 3*timeout)
	}
}

// A hung agent answers the caller 503 with Retry-After, and the body names no address.
func TestAuthorizeAnswers503WhenTheAgentHangs(t *testing.T) {
	f := newFakeAgent(t)
	f.hanging.Store(true)
	a := authorizer(t, f, 200*time.Millisecond)
	id := &Identity{Service: "rng"}
	h := Authorize(slog.New(slog.DiscardHandler), id, a, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("reached the handler") }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/32", nil)
	req.TLS = tlsStateOf(t, "spiffe://x/svc/worker")
	h.ServeHTTP(rec, req)
	t.Logf("tried: GET /32 with a hung agent; got %d %q Retry-After %q", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d, want 503 with Retry-After", rec.Code)
	}
	if body := rec.Body.String(); strings.Contains(body, f.Listener.Addr().String()) {
		t.Fatalf("the body names the agent: %q", body)
	}
}

// tlsStateOf is the TLS state of a connection whose client presented a certificate
// with the given SPIFFE ID.
func tlsStateOf(t *testing.T, spiffeID string) *tls.ConnectionState {
	u, err := url.Parse(spiffeID)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{URIs: []*url.URL{u}, SerialNumber: big.NewInt(1)}}}
}
