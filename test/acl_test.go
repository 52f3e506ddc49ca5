package test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// TestACLsKeepOutsidersOut tries, on the `make up` stack with the mesh on, what an
// outsider on the same host would: take a service's certificate, talk to Redis, rewrite
// the intentions. Each try is logged with what came of it.
func TestACLsKeepOutsidersOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dev, s := upInNamespace(ctx, t, lab.App{Mesh: true, Vars: appVars(t)})
	webui := "http://" + dev.Node.IP + ":8000/json"
	testbed.Eventually(t, 60*time.Second, "hashes on %s", func() bool { return webuiHashes(t, webui) > 0 }, webui)
	tokens := map[string]string{}
	for _, svc := range lab.Services {
		v, _, err := s.Nomad.API().Variables().Read("nomad/jobs/dockercoins/"+svc, nil)
		if err != nil {
			t.Fatal(err)
		}
		tokens[svc] = v.Items["consul_token"]
	}

	t.Run("leaf certificate", func(t *testing.T) {
		// jaeger is in no one's mesh: no certificate of it is cached on the agent, so each
		// request has the servers sign one, and they check the token.
		leaf := s.ConsulAddr + "/v1/agent/connect/ca/leaf/jaeger"
		for _, try := range []struct {
			who, token string
			want       int
		}{{"anonymous", "", 403}, {"rng's token", tokens["rng"], 403}, {"the worker's token", tokens["worker"], 403},
			{"the operator token", s.ConsulACL.Management, 200}} {
			code, body := consulGet(t, leaf, try.token)
			t.Logf("GET %s as %s: %d %s", leaf, try.who, code, firstLine(body))
			if code != try.want {
				t.Errorf("a jaeger leaf certificate as %s: %d, want %d", try.who, code, try.want)
			}
		}
		// A certificate the agent holds for a running service is another matter: Consul
		// 1.21's agent answers it from its cache without looking at the token (README,
		// "Security model"). Logged, so a Consul that fixes it shows here.
		cached := s.ConsulAddr + "/v1/agent/connect/ca/leaf/worker"
		code, _ := consulGet(t, cached, "")
		t.Logf("GET %s anonymously while the worker runs (its certificate cached on the agent): %d", cached, code)
	})

	t.Run("plain redis", func(t *testing.T) {
		allocs, err := s.Nomad.Running("redis", "redis")
		if err != nil || len(allocs) != 1 {
			t.Fatalf("redis allocations %v: %v", allocs, err)
		}
		db := allocs[0].Addrs["db"]
		_, port, _ := net.SplitHostPort(db)
		// From the host: Redis listens on the node's loopback only.
		reply := redisPing(dev.Node.IP + ":" + port)
		t.Logf("PING to Redis's port %s from the host: %s", dev.Node.IP+":"+port, reply)
		if strings.Contains(reply, "PONG") {
			t.Error("Redis answered a plain PING from the host")
		}
		// From the node itself, where a task would try: a password is wanted.
		out, _ := dev.Node.Command("redis-cli", "-h", "127.0.0.1", "-p", port, "ping").CombinedOutput()
		t.Logf("redis-cli ping on the node's loopback: %s", strings.TrimSpace(string(out)))
		if !strings.Contains(string(out), "NOAUTH") {
			t.Errorf("redis-cli ping on the node: %q, want NOAUTH", out)
		}
		// What DNS tells is the mesh port, where only mTLS gets through.
		mesh := allocs[0].Addrs["mesh"]
		reply = redisPing(mesh)
		t.Logf("plain PING to the registered (proxy) port %s: %s", mesh, reply)
		if strings.Contains(reply, "PONG") {
			t.Error("Redis answered a plain PING through its proxy")
		}
		entries, _, err := consulClient(t, s.ConsulAddr, "").Catalog().Service("redis", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Logf("catalog: redis at %s:%d", e.ServiceAddress, e.ServicePort)
			if fmt.Sprint(e.ServicePort) == port {
				t.Errorf("Redis's plain port %s is in the catalog", port)
			}
		}
	})

	t.Run("intentions", func(t *testing.T) {
		deny := &api.ServiceIntentionsConfigEntry{Kind: api.ServiceIntentions, Name: "hasher",
			Sources: []*api.SourceIntention{{Name: "worker", Action: api.IntentionActionDeny}}}
		for _, try := range []struct{ who, token string }{{"anonymous", ""}, {"the worker's token", tokens["worker"]}, {"hasher's own token", tokens["hasher"]}} {
			_, _, err := consulClient(t, s.ConsulAddr, try.token).ConfigEntries().Set(deny, nil)
			t.Logf("write worker -> hasher deny as %s: %v", try.who, err)
			if err == nil || !strings.Contains(err.Error(), "403") {
				t.Errorf("writing an intention as %s: %v, want a 403 refusal", try.who, err)
			}
		}
		if !mining(t, webui) {
			t.Fatal("the workers do not mine before the operator's intention")
		}
		operator := consulClient(t, s.ConsulAddr, s.ConsulACL.Management)
		if _, _, err := operator.ConfigEntries().Set(deny, nil); err != nil {
			t.Fatalf("write worker -> hasher deny with the operator token: %v", err)
		}
		t.Log("write worker -> hasher deny with the operator token: done")
		testbed.Eventually(t, 30*time.Second, "mining to stop under the deny", func() bool { return !mining(t, webui) })
		t.Log("the workers stopped mining: every call to hasher is refused, no service restarted")
		if err := consul.ApplyIntentions(s.ConsulAddr, s.ConsulACL.Management); err != nil {
			t.Fatal(err)
		}
		testbed.Eventually(t, 60*time.Second, "mining to resume under the allow", func() bool { return mining(t, webui) })
		t.Log("the project's intentions written back with the operator token: the workers mine again")
	})
}

// mining tells whether the web UI's total grows within 3 s.
func mining(t *testing.T, webui string) bool {
	before := webuiHashes(t, webui)
	time.Sleep(3 * time.Second)
	return webuiHashes(t, webui) > before
}

func consulClient(t *testing.T, addr, token string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: addr, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// consulGet reads url with token (none if empty).
func consulGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	return withToken(t, http.MethodGet, url, "X-Consul-Token", token, nil)
}

// withToken sends one request with token in header (none if empty) and returns the
// answer's status and body.
func withToken(t *testing.T, method, url, header, token string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set(header, token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// redisPing sends a plain PING to addr and returns what came back, or why nothing did.
func redisPing(addr string) string { return redisSend(addr, "PING") }

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
