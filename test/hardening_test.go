package test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// loopsPerSecond samples a worker's completed loops over d.
func loopsPerSecond(t *testing.T, w *testbed.Service, d time.Duration) float64 {
	t.Helper()
	before, err := testbed.WorkerLoops(nil, w.Addr)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	after, err := testbed.WorkerLoops(nil, w.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return float64(after-before) / d.Seconds()
}

// holdConnections opens n loopback connections to addr: half send nothing at all, half
// send half a request's headers and stop. They are closed when the test ends.
func holdConnections(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("connection %d to %s: %v", i, addr, err)
		}
		t.Cleanup(func() { c.Close() })
		if i%2 == 1 {
			io.WriteString(c, "GET /32 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		}
		conns = append(conns, c)
	}
	return conns
}

// Idle and slow-header connections, 200 per server, do not keep rng's and hasher's
// health checks waiting nor stop the worker's mining, and the servers close them once
// the header timeout passes.
func TestHardeningSlowClientsDoNotStopHealthOrMining(t *testing.T) {
	const perServer = 200
	limit := "HTTP_READ_HEADER_TIMEOUT=2s"
	a := &app{redis: testbed.StartRedis(t)}
	a.rng = testbed.StartService(t, "rng", "RNG_DELAY=5ms", limit)
	a.hasher = testbed.StartService(t, "hasher", "HASHER_DELAY=5ms", limit)
	w := a.worker(t)
	waitHashes(t, a.redis, 20)
	before := loopsPerSecond(t, w, 2*time.Second)

	var held []net.Conn
	for _, s := range []*testbed.Service{a.rng, a.hasher} {
		held = append(held, holdConnections(t, s.Addr, perServer)...)
	}
	opened := time.Now()
	t.Logf("tried: %d idle or slow-header connections each to rng and hasher (header timeout 2s)", perServer)
	client := &http.Client{Timeout: 2 * time.Second}
	for _, s := range []*testbed.Service{a.rng, a.hasher, w} {
		start := time.Now()
		resp, err := client.Get(s.URL() + "/healthz")
		if err != nil {
			t.Fatalf("%s /healthz with the connections held: %v", s.Name, err)
		}
		resp.Body.Close()
		t.Logf("%s /healthz: %s in %s", s.Name, resp.Status, time.Since(start).Round(time.Microsecond))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s /healthz: %s", s.Name, resp.Status)
		}
	}
	during := loopsPerSecond(t, w, time.Second)
	t.Logf("worker: %.1f loops/s before, %.1f with the connections held", before, during)
	if during < before/3 {
		t.Fatalf("mining fell from %.1f to %.1f loops/s", before, during)
	}

	// Every held connection is closed by its server: the silent ones once the header
	// timeout passes, as the half-sent ones.
	closed := 0
	for _, c := range held {
		c.SetReadDeadline(opened.Add(6 * time.Second))
		if _, err := io.Copy(io.Discard, c); err == nil {
			closed++
		}
	}
	t.Logf("%d of %d held connections closed by the servers within %s of opening", closed, len(held), time.Since(opened).Round(time.Millisecond))
	if closed != len(held) {
		t.Fatalf("%d connections still open past the header timeout", len(held)-closed)
	}
	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
}

// floodResult is what a flood of one rng instance saw.
type floodResult struct {
	ok, busy, other  atomic.Int64
	noRetryAfter     atomic.Int64
	slowestOK        atomic.Int64 // nanoseconds
	peakRSS, baseRSS int64
}

// flood sends GET /32 to addr from n concurrent clients for d, each pausing 50 ms
// after a 503, and samples pid's resident memory meanwhile.
func flood(t *testing.T, addr string, pid, n int, d time.Duration) *floodResult {
	t.Helper()
	r := &floodResult{}
	var err error
	if r.baseRSS, err = testbed.RSS(pid); err != nil {
		t.Fatal(err)
	}
	r.peakRSS = r.baseRSS
	tr := &http.Transport{MaxIdleConnsPerHost: n}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/32", nil)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						r.other.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					r.ok.Add(1)
					took := int64(time.Since(start))
					for old := r.slowestOK.Load(); took > old && !r.slowestOK.CompareAndSwap(old, took); old = r.slowestOK.Load() {
					}
				case http.StatusServiceUnavailable:
					r.busy.Add(1)
					if resp.Header.Get("Retry-After") == "" {
						r.noRetryAfter.Add(1)
					}
					select {
					case <-ctx.Done():
					case <-time.After(50 * time.Millisecond):
					}
				default:
					r.other.Add(1)
				}
			}
		})
	}
	for ctx.Err() == nil {
		if rss, err := testbed.RSS(pid); err == nil && rss > r.peakRSS {
			r.peakRSS = rss
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	return r
}

// A flood of one rng instance far beyond its queue bound is turned away with 503 and
// Retry-After at once; the requests it does take wait no longer than the bound allows;
// its memory stays bounded; and a worker given two rng instances keeps mining on the
// other one, every loop it completed counted once.
func TestHardeningRNGFloodIsTurnedAwayAndWorkersMineOn(t *testing.T) {
	const (
		queueMax = 20
		delay    = 20 * time.Millisecond
		flooders = 300
	)
	a := &app{redis: testbed.StartRedis(t)}
	flooded := testbed.StartService(t, "rng", fmt.Sprintf("RNG_DELAY=%s", delay), fmt.Sprintf("RNG_QUEUE_MAX=%d", queueMax), "ACCESS_LOG=false")
	other := testbed.StartService(t, "rng", fmt.Sprintf("RNG_DELAY=%s", delay), fmt.Sprintf("RNG_QUEUE_MAX=%d", queueMax), "ACCESS_LOG=false")
	a.hasher = testbed.StartService(t, "hasher", "HASHER_DELAY=5ms")
	w := testbed.StartService(t, "worker", "WORKER_PAUSE=5ms", "WORKER_FLUSH_EVERY=200ms",
		"RNG_ADDR="+flooded.Addr+","+other.Addr, "HASHER_ADDR="+a.hasher.Addr, "REDIS_ADDR="+a.redis.Addr, "REDIS_PASSWORD="+a.redis.Password)
	waitHashes(t, a.redis, 20)
	before := loopsPerSecond(t, w, 2*time.Second)

	var during float64
	var r *floodResult
	var wg sync.WaitGroup
	wg.Go(func() { r = flood(t, flooded.Addr, flooded.PID(), flooders, 8*time.Second) })
	time.Sleep(3 * time.Second) // the queue is full by now
	during = loopsPerSecond(t, w, 3*time.Second)
	wg.Wait()

	longest := time.Duration(queueMax+1) * delay
	t.Logf("tried: %d clients flooding one rng (queue %d, delay %s, longest wait %s) for 8s", flooders, queueMax, delay, longest)
	t.Logf("flooded rng answered %d x 200 (slowest %s), %d x 503 (%d without Retry-After), %d other; RSS %.1f MiB before, peak %.1f MiB",
		r.ok.Load(), time.Duration(r.slowestOK.Load()).Round(time.Millisecond), r.busy.Load(), r.noRetryAfter.Load(), r.other.Load(),
		float64(r.baseRSS)/(1<<20), float64(r.peakRSS)/(1<<20))
	t.Logf("worker: %.1f loops/s before the flood, %.1f during it", before, during)
	if r.busy.Load() == 0 || r.noRetryAfter.Load() != 0 {
		t.Fatalf("want 503s, each with Retry-After")
	}
	if r.other.Load() != 0 {
		t.Fatalf("%d answers were neither 200 nor 503", r.other.Load())
	}
	// The bound, plus room for a shared machine's scheduling.
	if slowest := time.Duration(r.slowestOK.Load()); slowest > longest+2*time.Second {
		t.Fatalf("a served request waited %s, past the queue's bound of %s", slowest, longest)
	}
	if grown := r.peakRSS - r.baseRSS; grown > 64<<20 {
		t.Fatalf("rng grew by %.1f MiB under the flood", float64(grown)/(1<<20))
	}
	if during < before/3 {
		t.Fatalf("mining fell from %.1f to %.1f loops/s during the flood", before, during)
	}
	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
	t.Logf("worker completed %d loops; Redis holds exactly those", loops)
}

// A hung Consul agent (SIGSTOP) makes an intention check fail within about 2 s with a
// 503, not hang; the worker logs that it serves its last DNS answer, then that it
// drops it; once the agent goes on (SIGCONT) mining resumes.
func TestHardeningHungConsulAgentFailsAuthorizationFast(t *testing.T) {
	a := startConnectApp(t)
	t.Cleanup(func() { a.consul.Signal(syscall.SIGCONT) }) // before the agent is stopped
	w := a.worker(t, "DISCOVERY_STALE_MAX=10s")
	waitHashes(t, a.redis, 20)

	// A caller with the worker's identity, which the intentions allow.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait, cancelWait := context.WithTimeout(ctx, 20*time.Second)
	defer cancelWait()
	id, err := consul.NewIdentity(ctx, wait, a.consul.Client, "worker", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: id.ClientTLS("rng"), DisableKeepAlives: true}}
	get := func() (int, string, time.Duration, error) {
		start := time.Now()
		resp, err := client.Get("https://" + a.rng.Addr + "/32")
		if err != nil {
			return 0, "", time.Since(start), err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			body = nil
		}
		return resp.StatusCode, string(body), time.Since(start), nil
	}
	if code, body, took, err := get(); err != nil || code != http.StatusOK {
		t.Fatalf("with the agent running: %d %q %v", code, body, err)
	} else {
		t.Logf("agent running: GET /32 as worker: %d in %s", code, took.Round(time.Millisecond))
	}

	a.consul.Signal(syscall.SIGSTOP)
	stoppedAt := time.Now()
	t.Logf("tried: SIGSTOP to the Consul agent, then GET /32 as worker once the cached answer (1s) has expired")
	time.Sleep(1200 * time.Millisecond)
	code, body, took, err := get()
	t.Logf("agent hung: %d %q in %s (err %v)", code, body, took.Round(time.Millisecond), err)
	if err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("want 503, got %d %v", code, err)
	}
	if took > 2500*time.Millisecond {
		t.Fatalf("authorization took %s with a hung agent, want about 1 s", took)
	}
	if ev := a.rng.WaitEvent(t, "connect: cannot authorize", 5*time.Second); ev != nil {
		t.Logf("rng logged: %v", ev["err"])
	}

	// The worker cannot confirm its peers: it serves the last answer, then drops it.
	stale := w.WaitEvent(t, "consul dns lookup failed; serving the last answer", 20*time.Second)
	t.Logf("worker, %s after SIGSTOP: %q (unconfirmed for %s)", time.Since(stoppedAt).Round(time.Millisecond), stale["msg"], nanos(stale["unconfirmed_for"]))
	dropped := w.WaitEvent(t, "consul dns lookups still failing; dropping the stale answer", 20*time.Second)
	t.Logf("worker, %s after SIGSTOP: %q (unconfirmed for %s, stale_max %s)", time.Since(stoppedAt).Round(time.Millisecond), dropped["msg"], nanos(dropped["unconfirmed_for"]), nanos(dropped["stale_max"]))
	// The answer is dropped at the first lookup past the bound; lookups come with the
	// loops, which a failing peer spaces out by the miner's backoff (at most 5 s).
	if u := nanos(dropped["unconfirmed_for"]); u < 10*time.Second || u > 10*time.Second+5*time.Second {
		t.Fatalf("the stale answer was dropped unconfirmed for %s; want from 10 s (stale_max) to 10 s plus one backoff (5 s)", u)
	}

	a.consul.Signal(syscall.SIGCONT)
	from := a.redis.Hashes()
	testbed.Eventually(t, 30*time.Second, "mining to resume after SIGCONT", func() bool { return a.redis.Hashes() > from+10 })
	t.Logf("SIGCONT: hashes went on from %d to %d", from, a.redis.Hashes())
	w.WaitEvent(t, "consul dns answers again", 10*time.Second)
	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
}

// nanos reads a duration logged as JSON nanoseconds.
func nanos(v any) time.Duration {
	f, _ := v.(float64)
	return time.Duration(f).Round(time.Millisecond)
}
