package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/test/testbed"
)

// app is a DockerCoins stack for a test: a Redis of its own and the services started on
// it. Without consul the services get each other's fixed addresses; with it they
// register there and find every peer, Redis included, through its DNS; with mesh too
// they speak Connect (see startConnectApp).
type app struct {
	redis  *testbed.Redis
	consul *testbed.Consul // nil: fixed addresses
	mesh   bool
	rng    *testbed.Service
	hasher *testbed.Service
}

// startApp starts Redis, rng and hasher at fixed addresses.
func startApp(t *testing.T, rngEnv ...string) *app {
	a := &app{redis: testbed.StartRedis(t)}
	a.rng = testbed.StartService(t, "rng", append([]string{"RNG_DELAY=5ms"}, rngEnv...)...)
	a.hasher = testbed.StartService(t, "hasher", "HASHER_DELAY=5ms")
	return a
}

// start starts a service, pointed at the app's Consul agent if it has one, with the
// password of the app's Redis.
func (a *app) start(t *testing.T, service string, env ...string) *testbed.Service {
	var base []string
	if a.redis != nil {
		base = append(base, "REDIS_PASSWORD="+a.redis.Password)
	}
	if a.consul != nil {
		base = append(base, a.consul.Env()...)
	}
	if a.mesh {
		base = append(base, "MESH=true")
	}
	return testbed.StartService(t, service, append(base, env...)...)
}

// worker starts a worker with a 5 ms pause that flushes every 200 ms, unless env says
// otherwise; without Consul it is given the addresses of rng, hasher and Redis.
func (a *app) worker(t *testing.T, env ...string) *testbed.Service {
	base := []string{"WORKER_PAUSE=5ms", "WORKER_FLUSH_EVERY=200ms"}
	if a.consul == nil {
		base = append(base, "RNG_ADDR="+a.rng.Addr, "HASHER_ADDR="+a.hasher.Addr, "REDIS_ADDR="+a.redis.Addr)
	}
	return a.start(t, "worker", append(base, env...)...)
}

// stopped stops a worker with sig and returns the loops and coins it says it completed.
func stopped(t *testing.T, w *testbed.Service, sig syscall.Signal) (loops, coins int64) {
	t.Helper()
	w.Signal(sig)
	if err := w.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("worker exited with %v after %v", err, sig)
	}
	evs := w.Events("stopped")
	if len(evs) != 1 {
		t.Fatalf("worker logged %d stop events", len(evs))
	}
	ev := evs[0]
	if ev["lost"].(float64) != 0 || ev["flushed"] != ev["loops"] {
		t.Fatalf("worker stopped with %v", ev)
	}
	return int64(ev["loops"].(float64)), int64(ev["coins"].(float64))
}

func waitHashes(t *testing.T, r *testbed.Redis, atLeast int64) {
	t.Helper()
	testbed.Eventually(t, 20*time.Second, "hashes >= %d", func() bool { return r.Hashes() >= atLeast }, atLeast)
}

func TestAccountingIsExactWithSeveralWorkers(t *testing.T) {
	a := startApp(t)
	var workers []*testbed.Service
	for range 4 {
		workers = append(workers, a.worker(t))
	}
	waitHashes(t, a.redis, 200)
	var loops, coins int64
	for i, w := range workers {
		sig := syscall.SIGTERM
		if i%2 == 1 {
			sig = syscall.SIGINT
		}
		l, c := stopped(t, w, sig)
		if l == 0 {
			t.Fatalf("worker %d completed no loop", i)
		}
		loops, coins = loops+l, coins+c
	}
	a.redis.CheckCounted(t, loops, coins)
	t.Logf("%d loops, %d coins, all counted once", loops, coins)
}

// TestRedisOutageLosesNoCount stops Redis as Nomad or Compose stop it (SIGTERM, nothing
// else: the shipped Redis never snapshots on shutdown) and starts it again on the same
// data: its AOF brings back every count, and the worker's tally the rest.
func TestRedisOutageLosesNoCount(t *testing.T) {
	a := startApp(t)
	w := a.worker(t)
	webui := testbed.StartService(t, "webui", "REDIS_ADDR="+a.redis.Addr, "REDIS_PASSWORD="+a.redis.Password)
	waitHashes(t, a.redis, 50)

	held := a.redis.Hashes()
	a.redis.Stop()
	w.WaitEvent(t, "redis unavailable; keeping the count", 10*time.Second)
	if code, body := getJSON(t, webui.URL()+"/json"); code != http.StatusServiceUnavailable || body["error"] == nil {
		t.Fatalf("webui with Redis down answered %d %v, want 503 with an error", code, body)
	}
	before := loopsDone(t, w)
	testbed.Eventually(t, 10*time.Second, "the worker to keep mining while Redis is down", func() bool {
		return loopsDone(t, w) > before+20
	})

	a.redis.Restart()
	if got := a.redis.Hashes(); got < held {
		t.Fatalf("Redis came back with %d hashes; it held %d when it stopped", got, held)
	}
	testbed.Eventually(t, 20*time.Second, "webui to recover", func() bool {
		code, _ := getJSON(t, webui.URL()+"/json")
		return code == http.StatusOK
	})
	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
}

func TestFailedLoopsAreNotCounted(t *testing.T) {
	port := testbed.FreePort(t)
	a := startApp(t)
	a.rng.Stop(5 * time.Second)
	rngAddr := fmt.Sprintf("127.0.0.1:%d", port)
	w := a.worker(t, "RNG_ADDR="+rngAddr)
	w.WaitEvent(t, "loop failed; backing off", 10*time.Second)
	if n := loopsDone(t, w); n != 0 {
		t.Fatalf("%d loops counted with rng down", n)
	}

	rng := testbed.StartService(t, "rng", "RNG_DELAY=5ms", "ADDR="+rngAddr)
	waitHashes(t, a.redis, 20)
	rng.Kill() // down again, mid-run
	time.Sleep(500 * time.Millisecond)
	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
}

// loopsDone reads the loops a worker has completed from its status line.
func loopsDone(t *testing.T, w *testbed.Service) int64 {
	t.Helper()
	loops, err := testbed.WorkerLoops(http.DefaultClient, w.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return loops
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}
