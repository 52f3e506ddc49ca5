package test

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/test/testbed"
)

// startMeshApp starts a Consul agent and a Redis registered in it with a TCP check;
// the services started on it register themselves and find every peer, Redis included,
// through Consul DNS.
func startMeshApp(t *testing.T) *app {
	a := &app{consul: testbed.StartConsul(t), redis: testbed.StartRedis(t)}
	a.registerRedis(t)
	return a
}

// registerRedis registers Redis as `make up` does, with a TCP check.
func (a *app) registerRedis(t *testing.T) {
	a.consul.RegisterTCP("redis", a.redis.Addr)
	_, port, _ := net.SplitHostPort(a.redis.Addr)
	a.consul.WaitPassing("redis", 10*time.Second, "redis-"+port)
}

// registered waits for s to say it registered, and returns its service ID.
func registered(t *testing.T, s *testbed.Service) string {
	t.Helper()
	return s.WaitEvent(t, "registered in consul", 10*time.Second)["id"].(string)
}

// startAll starts the four services and waits until each is registered and passing;
// it returns them and their service IDs by name.
func (a *app) startAll(t *testing.T) (map[string]*testbed.Service, map[string]string) {
	t.Helper()
	svcs := map[string]*testbed.Service{
		"rng":    a.start(t, "rng", "RNG_DELAY=5ms"),
		"hasher": a.start(t, "hasher", "HASHER_DELAY=5ms"),
		"worker": a.worker(t),
		"webui":  a.start(t, "webui"),
	}
	ids := map[string]string{}
	for name, s := range svcs {
		ids[name] = registered(t, s)
		a.consul.WaitPassing(name, 10*time.Second, ids[name])
	}
	return svcs, ids
}

func TestConsulEveryServiceRegistersAndDeregistersOnSIGTERM(t *testing.T) {
	a := startMeshApp(t)
	svcs, ids := a.startAll(t)
	// The worker found rng, hasher and Redis by name; webui found Redis.
	waitHashes(t, a.redis, 30)
	if code, body := getJSON(t, svcs["webui"].URL()+"/json"); code != http.StatusOK || body["hashes"] == nil {
		t.Fatalf("webui answered %d %v", code, body)
	}

	loops, _ := stopped(t, svcs["worker"], syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
	for _, name := range []string{"worker", "webui", "rng", "hasher"} {
		s := svcs[name]
		s.Signal(syscall.SIGTERM)
		if err := s.Wait(t, 20*time.Second); err != nil {
			t.Fatalf("%s exited with %v", name, err)
		}
		s.WaitEvent(t, "deregistered from consul", time.Second)
		if _, _, err := a.consul.Client.Agent().Service(ids[name], nil); err == nil {
			t.Fatalf("%s still registered with the agent after SIGTERM", name)
		}
		a.consul.WaitPassing(name, 5*time.Second) // none
	}
}

// countingProxy forwards to one rng instance and counts the random-byte requests it
// passes, so a test sees how a worker spreads its requests.
type countingProxy struct {
	ln     net.Listener
	target atomic.Pointer[url.URL]
	count  atomic.Int64
}

func startCountingProxy(t *testing.T) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(p.target.Load()) }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" { // not the health check
			p.count.Add(1)
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *countingProxy) addr() string { return p.ln.Addr().String() }

func (p *countingProxy) forwardTo(addr string) { p.target.Store(&url.URL{Scheme: "http", Host: addr}) }

func TestConsulSpreadsAWorkersRequestsOverRngInstances(t *testing.T) {
	a := startMeshApp(t)
	// Each rng registers its proxy's address (ADVERTISE_ADDR), so every request the
	// worker sends to an instance passes its proxy.
	var proxies []*countingProxy
	var ids []string
	for range 2 {
		p := startCountingProxy(t)
		rng := a.start(t, "rng", "RNG_DELAY=2ms", "ADVERTISE_ADDR="+p.addr())
		p.forwardTo(rng.Addr)
		proxies = append(proxies, p)
		ids = append(ids, registered(t, rng))
	}
	a.consul.WaitPassing("rng", 10*time.Second, ids...)
	a.start(t, "hasher", "HASHER_DELAY=2ms")
	w := a.worker(t, "WORKER_PAUSE=1ms")

	total := func() int64 { return proxies[0].count.Load() + proxies[1].count.Load() }
	testbed.Eventually(t, 60*time.Second, "400 rng requests", func() bool { return total() >= 400 })
	n0, n1 := proxies[0].count.Load(), proxies[1].count.Load()
	share := float64(n0) / float64(n0+n1)
	t.Logf("rng instances got %d and %d requests (%.1f%% / %.1f%%)", n0, n1, 100*share, 100*(1-share))
	if share < 0.4 || share > 0.6 {
		t.Fatalf("unfair spread: %d and %d requests", n0, n1)
	}
	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
}

func TestConsulLosingAnRngInstanceCostsNoLoop(t *testing.T) {
	a := startMeshApp(t)
	rngs := []*testbed.Service{a.start(t, "rng", "RNG_DELAY=5ms"), a.start(t, "rng", "RNG_DELAY=5ms")}
	ids := []string{registered(t, rngs[0]), registered(t, rngs[1])}
	a.consul.WaitPassing("rng", 10*time.Second, ids...)
	a.start(t, "hasher", "HASHER_DELAY=5ms")
	w := a.worker(t)
	waitHashes(t, a.redis, 30)

	// Loops may fail while the worker starts, before its peers pass their checks.
	failed := len(w.Events("loop failed; backing off"))
	rngs[0].Kill() // a crash: no deregistration, requests in flight cut
	before := loopsDone(t, w)
	a.consul.WaitPassing("rng", 10*time.Second, ids[1]) // its check fails
	testbed.Eventually(t, 20*time.Second, "the worker to keep mining on the other rng", func() bool {
		return loopsDone(t, w) >= before+100
	})
	loops, _ := stopped(t, w, syscall.SIGTERM)
	if evs := w.Events("loop failed; backing off")[failed:]; len(evs) > 0 {
		t.Fatalf("%d failed loops after the kill, first: %v", len(evs), evs[0])
	}
	a.redis.CheckCounted(t, loops, -1)
}

func TestConsulAgentRestartServicesRegisterAgain(t *testing.T) {
	a := startMeshApp(t)
	svcs, ids := a.startAll(t)
	waitHashes(t, a.redis, 30)
	w := svcs["worker"]
	failed := len(w.Events("loop failed; backing off"))

	a.consul.Restart() // a dev agent comes back empty
	back := time.Now()
	a.registerRedis(t) // the operator's registration, not the services' own
	for name := range svcs {
		a.consul.WaitPassing(name, 10*time.Second, ids[name])
	}
	t.Logf("all four registered and passing again %v after the agent was back", time.Since(back).Round(10*time.Millisecond))

	// Cached answers carried the worker through the restart.
	before := loopsDone(t, w)
	testbed.Eventually(t, 20*time.Second, "the worker to keep mining", func() bool {
		return loopsDone(t, w) >= before+50
	})
	loops, _ := stopped(t, w, syscall.SIGTERM)
	if evs := w.Events("loop failed; backing off")[failed:]; len(evs) > 0 {
		t.Fatalf("%d failed loops across the agent restart, first: %v", len(evs), evs[0])
	}
	a.redis.CheckCounted(t, loops, -1)
}

func TestConsulUnreachableAtStart(t *testing.T) {
	c := testbed.NewConsul(t) // its ports, but no agent yet
	rng := testbed.StartService(t, "rng", append(c.Env(), "RNG_DELAY=5ms")...)
	msg := "consul unreachable at " + c.HTTPAddr + ", retrying"
	testbed.Eventually(t, 10*time.Second, "rng to log %q twice", func() bool { return len(rng.Events(msg)) >= 2 }, msg)
	if ev := rng.Events(msg)[0]; ev["level"] != "ERROR" || ev["err"] == nil {
		t.Fatalf("unclear report: %v", ev)
	}
	// It serves meanwhile.
	resp, err := http.Get(rng.URL() + "/16")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || rng.Exited() {
		t.Fatalf("rng answered %d while consul was down", resp.StatusCode)
	}

	c.Start()
	ev := rng.WaitEvent(t, "registered in consul", 10*time.Second)
	if ev["attempts"].(float64) < 3 {
		t.Fatalf("registered after %v attempts, want the retries counted", ev["attempts"])
	}
	c.WaitPassing("rng", 10*time.Second, ev["id"].(string))
}
