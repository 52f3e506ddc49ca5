package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/test/testbed"
)

// tracedStack is a whole DockerCoins (Redis, rng, hasher, workers) with the same
// delay everywhere and the same telemetry settings on every service.
type tracedStack struct {
	name     string
	services []*testbed.Service // rng, hasher, then the workers
	workers  []*testbed.Service
	loops    float64       // counted by the workers during measurements
	measured time.Duration // time spent measuring
	exported float64       // spans delivered to the collector during measurements
	cpu      time.Duration // CPU the services used during measurements
	jaeger   time.Duration // CPU Jaeger used during measurements
}

func startTracedStack(b *testing.B, name string, workers int, delay string, env []string) *tracedStack {
	redis := testbed.StartRedis(b)
	rng := testbed.StartService(b, "rng", slices.Concat([]string{"RNG_DELAY=" + delay, noAccessLog}, env)...)
	hasher := testbed.StartService(b, "hasher", slices.Concat([]string{"HASHER_DELAY=" + delay, noAccessLog}, env)...)
	s := &tracedStack{name: name, services: []*testbed.Service{rng, hasher}}
	for range workers {
		w := testbed.StartService(b, "worker", slices.Concat([]string{
			"RNG_ADDR=" + rng.Addr, "HASHER_ADDR=" + hasher.Addr, "REDIS_ADDR=" + redis.Addr, "REDIS_PASSWORD=" + redis.Password,
			"WORKER_PAUSE=0s", "WORKER_FLUSH_EVERY=250ms"}, env)...)
		s.workers = append(s.workers, w)
		s.services = append(s.services, w)
	}
	return s
}

// signal stops (SIGSTOP) or resumes (SIGCONT) every service of the stack.
func (s *tracedStack) signal(sig syscall.Signal) {
	for _, p := range s.services {
		p.Signal(sig)
	}
}

// sum adds up a metric over services.
func sum(b *testing.B, services []*testbed.Service, name string, match ...string) float64 {
	var total float64
	for _, p := range services {
		n, _, err := testbed.Metric(p.URL()+"/metrics", name, match...)
		if err != nil {
			b.Fatalf("%s /metrics: %v", p.Name, err)
		}
		total += n
	}
	return total
}

func (s *tracedStack) loopsDone(b *testing.B) float64 { return float64(workerLoops(b, s.workers)) }

// workerLoops adds up the loops the workers completed, from their status lines (which,
// unlike /metrics, every setting keeps).
func workerLoops(b *testing.B, workers []*testbed.Service) int64 {
	var total int64
	for _, w := range workers {
		loops, err := testbed.WorkerLoops(http.DefaultClient, w.Addr)
		if err != nil {
			b.Fatal(err)
		}
		total += loops
	}
	return total
}

// measure resumes the stack, lets it settle, counts its loops over d, and stops it
// again, so stacks take turns on the machine.
func (s *tracedStack) measure(b *testing.B, j *testbed.Jaeger, d time.Duration) {
	s.signal(syscall.SIGCONT)
	time.Sleep(500 * time.Millisecond)
	l0, e0 := s.loopsDone(b), sum(b, s.services, "telemetry_spans_total", `state="exported"`)
	c0, j0 := cpuOf(b, s.services)[""], jaegerCPU(j)
	t0 := time.Now()
	time.Sleep(d)
	l1, e1 := s.loopsDone(b), sum(b, s.services, "telemetry_spans_total", `state="exported"`)
	c1, j1 := cpuOf(b, s.services)[""], jaegerCPU(j)
	s.measured += time.Since(t0)
	s.signal(syscall.SIGSTOP)
	s.loops += l1 - l0
	s.exported += e1 - e0
	s.cpu += c1 - c0
	s.jaeger += j1 - j0
}

func jaegerCPU(j *testbed.Jaeger) time.Duration {
	d, _ := testbed.CPUTime(j.PID())
	return d
}

// perLoop is the CPU µs a loop cost the stack's services, and Jaeger.
func (s *tracedStack) perLoop() (services, jaeger float64) {
	n := max(s.loops, 1)
	return float64(s.cpu.Microseconds()) / n, float64(s.jaeger.Microseconds()) / n
}

// stop resumes and ends the stack and returns the spans its services lost.
func (s *tracedStack) stop() (dropped int64) {
	s.signal(syscall.SIGCONT)
	for _, p := range slices.Backward(s.services) {
		p.Stop(10 * time.Second)
		for _, ev := range p.Events("tracing stopped") {
			dropped += int64(ev["dropped"].(float64))
		}
	}
	return dropped
}

func (s *tracedStack) rate() float64 { return s.loops / s.measured.Seconds() }

// takeTurns measures the stacks in turn, rounds times each, and adds a row per stack,
// compared with the stack named off. All of them run at once, but each is resumed only
// while it is measured, so slow changes in the machine's background load hit all of
// them alike.
func takeTurns(b *testing.B, tb *table, j *testbed.Jaeger, label string, rounds int, window time.Duration, stacks ...*tracedStack) {
	for _, s := range stacks {
		s.signal(syscall.SIGSTOP)
	}
	for r := range rounds {
		for i := range stacks {
			stacks[(i+r)%len(stacks)].measure(b, j, window)
		}
	}
	var off, offCPU float64
	for _, s := range stacks {
		if s.name == "off" {
			off = s.rate()
			offCPU, _ = s.perLoop()
		}
	}
	for _, s := range stacks {
		dropped := s.stop()
		vs := "-"
		target := s.name == "on, 100%" && label[0] == '0' // every loop traced, every delay 0
		switch {
		case target:
			vs = atMost(100*(off-s.rate())/off, 15, "cost %.1f%%") // the target
		case s.name != "off":
			vs = fmt.Sprintf("%+.1f%%", 100*(s.rate()-off)/off)
		}
		cpu, jaeger := s.perLoop()
		tb.add(label, s.name, s.rate(), vs, fmt.Sprintf("%.1f", cpu), fmt.Sprintf("%.1f", jaeger),
			s.exported/s.measured.Seconds(), dropped)
		if target {
			// Where the cores are the limit, a loop's CPU sets the rate: losing at most
			// 15% of the loops is at most 1/0.85 of the untraced loop's CPU.
			tb.note("%s: an untraced loop costs the services %.1f µs of CPU; 15%% fewer loops on saturated cores allows %.1f µs more;"+
				" traced, the services took %+.1f and Jaeger %.1f.", label, offCPU, offCPU*(1/0.85-1), cpu-offCPU, jaeger)
		}
	}
}

func BenchmarkTracing(b *testing.B) {
	tb := newTable("Tracing cost: tracing off vs on, to a real Jaeger on the same 2 cores (target: every delay 0, on 100% costs at most 15% of off)",
		"delays, workers", "telemetry", "loops/s", "vs off", "CPU µs/loop: services", "Jaeger", "spans/s exported", "spans dropped")
	j := testbed.StartJaeger(b)
	disabled := []string{"OTEL_SDK_DISABLED=true"}
	all := append(j.Env(), "OTEL_TRACES_SAMPLER=always_on")
	tenth := append(j.Env(), "OTEL_TRACES_SAMPLER=traceidratio", "OTEL_TRACES_SAMPLER_ARG=0.1")
	discarded := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + discardingCollector(b), "OTEL_TRACES_SAMPLER=always_on"}
	for _, w := range []int{1, 8} {
		takeTurns(b, tb, j, fmt.Sprintf("0, %d", w), 6, 2500*time.Millisecond,
			startTracedStack(b, "disabled", w, "0s", disabled),
			startTracedStack(b, "off", w, "0s", nil),
			startTracedStack(b, "on, 100%", w, "0s", all),
			startTracedStack(b, "on, 100%, discarded", w, "0s", discarded),
			startTracedStack(b, "on, 10%", w, "0s", tenth))
	}
	// With the workshop's delays the loop waits far more than it computes.
	takeTurns(b, tb, j, "100ms, 4", 2, 8*time.Second,
		startTracedStack(b, "off", 4, "100ms", nil),
		startTracedStack(b, "on, 100%", 4, "100ms", all))
	tb.note("disabled: OTEL_SDK_DISABLED=true, no instrumentation at all. off: no OTLP endpoint; request metrics and /metrics only.")
	tb.note("discarded: every loop traced, to a collector in the benchmark's own process that reads each batch and keeps nothing: what tracing costs the")
	tb.note("services alone. CPU µs/loop: user+system time from /proc over the loops completed; the services are rng, hasher and the workers.")
	tb.note("on: OTLP to Jaeger, sampled 100%% or 10%%. A loop makes 3 spans over 3 services: the worker loop (its steps rng, hasher and, when WORKER_PAUSE is")
	tb.note("above 0, pause as events); rng server, with its slot event; hasher server. Stacks take turns (SIGSTOP/SIGCONT); loops are the workers' own counts;")
	tb.note("a batch being exported when its stack is paused can outlive its 5 s export timeout and be dropped: the dropped column counts that.")
}

// discardingCollector answers every OTLP export as a collector that took it, and keeps
// nothing: tracing's cost to the services without a real collector's on the cores.
func discardingCollector(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // an empty 200 is a full success to the exporter
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}
