package bench

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/internal/platform"
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
			"RNG_ADDR="+s.rng.Addr, "HASHER_ADDR="+s.hasher.Addr, "REDIS_ADDR="+s.redis.Addr, "REDIS_PASSWORD="+s.redis.Password,
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

// contender is one of the two stacks BenchmarkRawLoop compares: its processes and how
// to read the loops they completed.
type contender struct {
	procs func() []*testbed.Service
	loops func() int64
	done  int64         // loops completed while measured
	took  time.Duration // time measured
	cpu   map[string]time.Duration
}

func newContender(procs func() []*testbed.Service, loops func() int64) *contender {
	return &contender{procs: procs, loops: loops, cpu: map[string]time.Duration{}}
}

// measure resumes c, lets it settle, counts its loops and CPU over d, and pauses it
// again, so the two stacks take turns on the same cores.
func (c *contender) measure(b *testing.B, d time.Duration) {
	signalAll(c.procs(), syscall.SIGCONT)
	time.Sleep(700 * time.Millisecond)
	c0, l0, t0 := cpuOf(b, c.procs()), c.loops(), time.Now()
	time.Sleep(d)
	c1, l1 := cpuOf(b, c.procs()), c.loops()
	c.took += time.Since(t0)
	signalAll(c.procs(), syscall.SIGSTOP)
	c.done += l1 - l0
	for k, v := range c1 {
		c.cpu[k] += v - c0[k]
	}
}

func (c *contender) rate() float64 { return float64(c.done) / c.took.Seconds() }

// perLoop is the CPU µs a loop cost in the processes named name ("": all).
func (c *contender) perLoop(name string) float64 {
	return float64(c.cpu[name].Microseconds()) / float64(max(c.done, 1))
}

func BenchmarkRawLoop(b *testing.B) {
	tb := newTable("Raw loop: every delay 0, request metrics on, tracing off; the project against the bare protocol, taking turns (target >= 90% of bare)",
		"workers", "bare loops/s", "project loops/s", "of bare (>= 90%)", "bare+sysmon loops/s", "of bare+sysmon",
		"CPU µs/loop: bare", "project", "rng bare/project", "hasher bare/project", "workers bare/project")
	s := newStack(b, "0s")
	bare := newBareStack(b)
	// The bare loop again, with the runtime setting the services start with: how the
	// project compares like for like.
	calm := newBareStack(b, "GODEBUG="+platform.SysmonSetting)
	for _, w := range []int{1, 8} {
		s.scaleTo(b, w, "0s")
		bare.scaleTo(b, w)
		calm.scaleTo(b, w)
		ours := newContender(s.procs, func() int64 { return workerLoops(b, s.workers) })
		ref := newContender(bare.procs, func() int64 { return bare.loops(b) })
		alike := newContender(calm.procs, func() int64 { return calm.loops(b) })
		all := []*contender{ref, ours, alike}
		for _, c := range all {
			signalAll(c.procs(), syscall.SIGSTOP)
		}
		for r := range 4 {
			for i := range all {
				all[(r+i)%len(all)].measure(b, 3*time.Second)
			}
		}
		pair := func(name string) string {
			return fmt.Sprintf("%.0f / %.0f", ref.perLoop("bare "+name), ours.perLoop(name))
		}
		tb.add(w, ref.rate(), ours.rate(), atLeast(ours.rate(), ref.rate(), 90), alike.rate(),
			fmt.Sprintf("%.1f%%", 100*ours.rate()/alike.rate()), ref.perLoop(""),
			ours.perLoop(""), pair("rng"), pair("hasher"), pair("worker"))
		for _, c := range all {
			signalAll(c.procs(), syscall.SIGCONT)
		}
	}
	tb.note("bare: stdlib net/http rng and hasher, workers doing GET /32 then POST / and nothing else; project: Redis, rng, hasher, workers with")
	tb.note("ACCESS_LOG=false and no OTLP endpoint. Each worker is a process with GOMAXPROCS=1. The stacks run side by side but only one is")
	tb.note("resumed at a time (SIGSTOP/SIGCONT), 4 turns of 3 s each; CPU is user+system time from /proc, the same as getrusage.")
	tb.note("bare+sysmon: the bare loop with GODEBUG=%s, as the services run (platform.SysmonSetting).", platform.SysmonSetting)
	bare.scaleTo(b, 0)
	calm.scaleTo(b, 0)
	time.Sleep(2 * time.Second)
	rss := newTable("Memory: RSS of each service under the 8-worker zero-delay load (target <= 15 MB)",
		"service", "RSS MB (<= 15)")
	for _, p := range s.procs()[:3] {
		n, _ := testbed.RSS(p.PID())
		rss.add(p.Name, atMost(float64(n)/(1<<20), 15, "%.1f"))
	}
	webui := testbed.StartService(b, "webui", "REDIS_ADDR="+s.redis.Addr, "REDIS_PASSWORD="+s.redis.Password)
	for range 50 {
		httpGet(webui.URL() + "/json")
	}
	n, _ := testbed.RSS(webui.PID())
	rss.add("webui", atMost(float64(n)/(1<<20), 15, "%.1f"))
}

// cpuOf reads the CPU time used so far by each kind of process, and by all under "".
func cpuOf(b *testing.B, procs []*testbed.Service) map[string]time.Duration {
	used := map[string]time.Duration{}
	for _, p := range procs {
		d, err := testbed.CPUTime(p.PID())
		if err != nil {
			b.Fatal(fmt.Errorf("cpu of %s: %w", p.Name, err))
		}
		used[p.Name] += d
		used[""] += d
	}
	return used
}
