package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/test/testbed"
)

// stack is Redis, rng and hasher with fixed addresses, and the workers started on it.
type stack struct {
	redis   *testbed.Redis
	rng     *testbed.Service
	hasher  *testbed.Service
	workers []*testbed.Service
}

// noAccessLog switches rng's and hasher's per-request log lines off: at zero delay they
// would measure logging, and the harness keeps every line.
const noAccessLog = "ACCESS_LOG=false"

func newStack(b *testing.B, delay string) *stack {
	s := &stack{redis: testbed.StartRedis(b)}
	s.rng = testbed.StartService(b, "rng", "RNG_DELAY="+delay, noAccessLog)
	s.hasher = testbed.StartService(b, "hasher", "HASHER_DELAY="+delay, noAccessLog)
	return s
}

// scaleTo starts or stops workers until n run.
func (s *stack) scaleTo(b *testing.B, n int, pause string) {
	for len(s.workers) < n {
		s.workers = append(s.workers, testbed.StartService(b, "worker",
			"RNG_ADDR="+s.rng.Addr, "HASHER_ADDR="+s.hasher.Addr, "REDIS_ADDR="+s.redis.Addr,
			"WORKER_PAUSE="+pause, "WORKER_FLUSH_EVERY=250ms", "GOMAXPROCS=1"))
	}
	for len(s.workers) > n {
		s.workers[len(s.workers)-1].Stop(10 * time.Second)
		s.workers = s.workers[:len(s.workers)-1]
	}
}

// rate measures hashes/s counted in Redis over d, after warm-up.
func (s *stack) rate(warmup, d time.Duration) float64 {
	time.Sleep(warmup)
	h0, t0 := s.redis.Hashes(), time.Now()
	time.Sleep(d)
	h1 := s.redis.Hashes()
	return float64(h1-h0) / time.Since(t0).Seconds()
}

// procs is every service process of the stack.
func (s *stack) procs() []*testbed.Service {
	return append([]*testbed.Service{s.rng, s.hasher}, s.workers...)
}

func BenchmarkScaling(b *testing.B) {
	tb := newTable("Scaling: workers against one rng (default delays: 100 ms each)",
		"workers", "hashes/s", "model min(W/0.3, 10)", "vs model (target ±5%)")
	s := newStack(b, "100ms")
	for _, w := range []int{1, 2, 5, 10} {
		s.scaleTo(b, w, "100ms")
		got := s.rate(3*time.Second, 12*time.Second)
		model := min(float64(w)/0.3, 10)
		tb.add(w, got, model, within(got, model, 5))
	}
}

func BenchmarkRawLoop(b *testing.B) {
	tb := newTable("Raw loop cost: every delay 0 (target >= 10,000 loops/s on 2 cores)",
		"workers", "loops/s", "CPU µs/loop", "in rng", "in hasher", "in workers")
	s := newStack(b, "0s")
	for _, w := range []int{1, 8} {
		s.scaleTo(b, w, "0s")
		time.Sleep(2 * time.Second)
		c0 := cpu(b, s)
		got := s.rate(0, 8*time.Second)
		c1 := cpu(b, s)
		perLoop := func(name string) float64 { return float64((c1[name] - c0[name]).Microseconds()) / (got * 8) }
		tb.add(w, got, perLoop(""), perLoop("rng"), perLoop("hasher"), perLoop("worker"))
	}
	rss := newTable("Memory: RSS of each service under the 8-worker zero-delay load (target < 15 MB)",
		"service", "RSS MB")
	for _, p := range s.procs()[:3] {
		n, _ := testbed.RSS(p.PID())
		rss.add(p.Name, float64(n)/(1<<20))
	}
	webui := testbed.StartService(b, "webui", "REDIS_ADDR="+s.redis.Addr)
	for range 50 {
		if resp, err := httpGet(webui.URL() + "/json"); err == nil {
			_ = resp
		}
	}
	n, _ := testbed.RSS(webui.PID())
	rss.add("webui", float64(n)/(1<<20))
}

// cpu reads the CPU time used so far by each kind of process, and by all under "".
func cpu(b *testing.B, s *stack) map[string]time.Duration {
	used := map[string]time.Duration{}
	for _, p := range s.procs() {
		d, err := testbed.CPUTime(p.PID())
		if err != nil {
			b.Fatal(fmt.Errorf("cpu of %s: %w", p.Name, err))
		}
		used[p.Name] += d
		used[""] += d
	}
	return used
}
