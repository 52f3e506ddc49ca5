package bench

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/peer"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// BenchmarkDiscovery measures what finding peers through Consul DNS costs. Workers
// given fixed addresses and workers finding rng, hasher and Redis by name run side by
// side on one zero-delay stack, so the load of the machine (shared with other work)
// weighs on both alike; a worker that spent more per loop on discovery would complete
// fewer loops than its twin.
func BenchmarkDiscovery(b *testing.B) {
	tb := newTable("Discovery: loops/s with every delay 0, Consul DNS vs fixed addresses, side by side (target within 5%)",
		"workers per kind", "fixed loops/s", "consul dns loops/s", "dns vs fixed", "fixed worker CPU µs/loop", "dns worker CPU µs/loop")
	consul := testbed.StartConsul(b)
	s := &stack{redis: testbed.StartRedis(b)}
	consul.RegisterTCP("redis", s.redis.Addr)
	_, port, _ := net.SplitHostPort(s.redis.Addr)
	consul.WaitPassing("redis", 10*time.Second, "redis-"+port)
	s.rng = testbed.StartService(b, "rng", append(consul.Env(), "RNG_DELAY=0s", noAccessLog)...)
	s.hasher = testbed.StartService(b, "hasher", append(consul.Env(), "HASHER_DELAY=0s", noAccessLog)...)
	for _, svc := range []*testbed.Service{s.rng, s.hasher} {
		id := svc.WaitEvent(b, "registered in consul", 10*time.Second)["id"].(string)
		consul.WaitPassing(svc.Name, 10*time.Second, id)
	}
	fixed := []string{"RNG_ADDR=" + s.rng.Addr, "HASHER_ADDR=" + s.hasher.Addr, "REDIS_ADDR=" + s.redis.Addr, "REDIS_PASSWORD=" + s.redis.Password}
	dns := []string{"CONSUL_DNS_ADDR=" + consul.DNSAddr}

	const windows, window = 5, 5 * time.Second
	for _, n := range []int{1, 4} {
		kinds := [2][]*testbed.Service{}
		for i, env := range [][]string{fixed, dns} {
			for range n {
				kinds[i] = append(kinds[i], testbed.StartService(b, "worker",
					append([]string{"WORKER_PAUSE=0s", "WORKER_FLUSH_EVERY=250ms", "GOMAXPROCS=1"}, env...)...))
			}
		}
		time.Sleep(2 * time.Second)
		var l0, l1 [2]int64
		var c0, c1 [2]time.Duration
		for i := range kinds {
			l0[i], c0[i] = usage(b, kinds[i])
		}
		time.Sleep(windows * window)
		for i := range kinds {
			l1[i], c1[i] = usage(b, kinds[i])
		}
		var rate, cpuPerLoop [2]float64
		for i := range kinds {
			loops := float64(l1[i] - l0[i])
			rate[i] = loops / (windows * window).Seconds()
			cpuPerLoop[i] = float64((c1[i] - c0[i]).Microseconds()) / loops
		}
		tb.add(n, rate[0], rate[1], within(rate[1], rate[0], 5), cpuPerLoop[0], cpuPerLoop[1])
		for _, ws := range kinds {
			for _, w := range ws {
				w.Stop(10 * time.Second)
			}
		}
	}
	tb.note("Loops are what the workers report completed over %v after 2 s of warm-up; CPU is the workers' own.", windows*window)
	tb.note("What a request pays to find its peer (a cached answer; lookups run in the background every DISCOVERY_TTL):")
	tb.note("  consul dns %.0f ns per lookup, fixed %.0f ns", resolveCost(b, &peer.DNS{Server: consul.DNSAddr}),
		resolveCost(b, peer.Static{"rng": {s.rng.Addr}}))
}

// resolveCost returns the mean time r takes to find rng, once its answer is cached.
func resolveCost(b *testing.B, r peer.Resolver) float64 {
	ctx := context.Background()
	if _, err := r.Resolve(ctx, "rng"); err != nil {
		b.Fatal(err)
	}
	const n = 1_000_000
	start := time.Now()
	for range n {
		r.Resolve(ctx, "rng")
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

// usage returns the loops the workers have completed and the CPU time they have used.
func usage(b *testing.B, workers []*testbed.Service) (loops int64, cpu time.Duration) {
	for _, w := range workers {
		n, err := testbed.WorkerLoops(http.DefaultClient, w.Addr)
		if err != nil {
			b.Fatal(err)
		}
		c, err := testbed.CPUTime(w.PID())
		if err != nil {
			b.Fatal(err)
		}
		loops, cpu = loops+n, cpu+c
	}
	return loops, cpu
}
