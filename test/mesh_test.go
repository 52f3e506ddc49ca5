package test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// startConnectApp starts DockerCoins with the mesh on: every service Connect-native,
// Redis behind Consul's built-in proxy, and the project's intentions applied.
func startConnectApp(t *testing.T) *app {
	a := &app{consul: testbed.StartConsul(t), redis: testbed.StartRedis(t), mesh: true}
	if err := consul.ApplyIntentions(a.consul.HTTPAddr, ""); err != nil {
		t.Fatal(err)
	}
	proxyPort := testbed.FreePort(t)
	testbed.Start(t, "redis-proxy", []string{"CONSUL_HTTP_ADDR=" + a.consul.HTTPAddr}, testbed.Tool(t, "consul"),
		"connect", "proxy", "-service", "redis", "-service-addr", a.redis.Addr,
		"-listen", fmt.Sprintf("127.0.0.1:%d", proxyPort), "-register")
	a.rng = a.start(t, "rng", "RNG_DELAY=5ms")
	a.hasher = a.start(t, "hasher", "HASHER_DELAY=5ms")
	for _, name := range []string{"rng", "hasher", "redis"} {
		testbed.Eventually(t, 20*time.Second, "%s to be a passing connect service", func() bool {
			entries, _, err := a.consul.Client.Health().Connect(name, "", true, nil)
			return err == nil && len(entries) > 0
		}, name)
	}
	return a
}

// outsider is a caller with a mesh identity of its own, which no intention allows.
func outsider(t *testing.T, c *testbed.Consul, name string) *http.Client {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	wait, cancelWait := context.WithTimeout(ctx, 20*time.Second)
	defer cancelWait()
	id, err := consul.NewIdentity(ctx, wait, c.Client, name, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: id.ClientTLS("rng")}}
}

func TestMeshWorkerMinesOverMutualTLS(t *testing.T) {
	a := startConnectApp(t)
	w := a.worker(t)
	waitHashes(t, a.redis, 100)
	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
	if n := len(w.Events("loop failed; backing off")); n != 0 {
		t.Fatalf("%d loops failed over the mesh: %v", n, w.Events("loop failed; backing off"))
	}
}

func TestMeshRefusesCallersWithoutAnIntention(t *testing.T) {
	a := startConnectApp(t)

	// A plain HTTP client cannot even speak to rng or hasher.
	for _, s := range []*testbed.Service{a.rng, a.hasher} {
		if resp, err := http.Get(s.URL() + "/32"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Fatalf("plain HTTP to %s answered 200: %q", s.Name, body)
			}
		}
	}
	// TLS without a certificate gets the health check only.
	anon := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if code := status(t, anon, "GET", "https://"+a.rng.Addr+"/"); code != 200 {
		t.Fatalf("health check over TLS without a certificate: %d", code)
	}
	if code := status(t, anon, "GET", "https://"+a.rng.Addr+"/32"); code != http.StatusForbidden {
		t.Fatalf("random bytes without a certificate: %d, want 403", code)
	}
	if code := status(t, anon, "POST", "https://"+a.hasher.Addr+"/"); code != http.StatusForbidden {
		t.Fatalf("a hash without a certificate: %d, want 403", code)
	}

	// A caller with a mesh identity but no allowing intention is refused, and the
	// refusal names both identities.
	intruder := outsider(t, a.consul, "intruder")
	if code := status(t, intruder, "GET", "https://"+a.rng.Addr+"/32"); code != http.StatusForbidden {
		t.Fatalf("intruder -> rng: %d, want 403", code)
	}
	ev := a.rng.WaitEvent(t, "connect: refused", 5*time.Second)
	if ev["caller_service"] != "intruder" || ev["target"] != "rng" {
		t.Fatalf("refusal logged as %v", ev)
	}
}

func TestMeshIntentionFlipTakesEffectWithoutRestart(t *testing.T) {
	a := startConnectApp(t)
	w := a.worker(t)
	waitHashes(t, a.redis, 50)

	setRngIntention(t, a.consul.Client, api.IntentionActionDeny)
	w.WaitEvent(t, "loop failed; backing off", 10*time.Second)
	setRngIntention(t, a.consul.Client, api.IntentionActionAllow)
	before := a.redis.Hashes()
	waitHashes(t, a.redis, before+50)

	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
}

func setRngIntention(t *testing.T, c *api.Client, action api.IntentionAction) {
	t.Helper()
	_, _, err := c.ConfigEntries().Set(&api.ServiceIntentionsConfigEntry{
		Kind: api.ServiceIntentions, Name: "rng",
		Sources: []*api.SourceIntention{{Name: "worker", Action: action}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

func TestMeshCARootRotationCostsNoLoop(t *testing.T) {
	a := startConnectApp(t)
	w := a.worker(t)
	waitHashes(t, a.redis, 50)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(key)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	failedBefore := len(w.Events("loop failed; backing off"))
	old, _, _ := a.consul.Client.Agent().ConnectCARoots(nil)
	if _, err := a.consul.Client.Connect().CASetConfig(&api.CAConfig{
		Provider: "consul", Config: map[string]any{"PrivateKey": keyPEM},
	}, nil); err != nil {
		t.Fatal(err)
	}
	testbed.Eventually(t, 20*time.Second, "a new active root", func() bool {
		roots, _, err := a.consul.Client.Agent().ConnectCARoots(nil)
		return err == nil && roots.ActiveRootID != old.ActiveRootID
	})
	// Both ends pick up leaves signed by the new root, without a restart. The agent
	// staggers re-signing after a root change over up to 30 s.
	w.WaitEvent(t, "connect: leaf certificate rotated", time.Minute)
	a.rng.WaitEvent(t, "connect: leaf certificate rotated", time.Minute)
	before := a.redis.Hashes()
	waitHashes(t, a.redis, before+100)

	loops, _ := stopped(t, w, syscall.SIGTERM)
	if n := len(w.Events("loop failed; backing off")); n != failedBefore {
		t.Fatalf("%d loops failed during the rotation: %v", n-failedBefore, w.Events("loop failed; backing off"))
	}
	a.redis.CheckCounted(t, loops, -1)
}

func status(t *testing.T, c *http.Client, method, url string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader("x"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
