package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// BenchmarkMesh measures what Connect's mutual TLS and intention checks cost: a plain
// stack and a mesh stack, each with its own Redis, rng, hasher and workers, run side by
// side with every delay 0, so the machine's load weighs on both alike.
func BenchmarkMesh(b *testing.B) {
	tb := newTable("Mesh: loops/s with every delay 0, Connect mTLS vs plain HTTP, side by side (target: mesh costs < 15%)",
		"workers per stack", "plain loops/s", "mesh loops/s", "mesh cost")
	plain := newStack(b, "0s")

	agent := testbed.StartConsul(b)
	if err := consul.ApplyIntentions(agent.HTTPAddr, ""); err != nil {
		b.Fatal(err)
	}
	meshed := &stack{redis: testbed.StartRedis(b)}
	testbed.Start(b, "redis-proxy", []string{"CONSUL_HTTP_ADDR=" + agent.HTTPAddr}, testbed.Tool(b, "consul"),
		"connect", "proxy", "-service", "redis", "-service-addr", meshed.redis.Addr,
		"-listen", fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(b)), "-register")
	meshEnv := append(agent.Env(), "MESH=true")
	meshed.rng = testbed.StartService(b, "rng", append(meshEnv, "RNG_DELAY=0s", noAccessLog)...)
	meshed.hasher = testbed.StartService(b, "hasher", append(meshEnv, "HASHER_DELAY=0s", noAccessLog)...)
	for _, name := range []string{"rng", "hasher", "redis"} {
		testbed.Eventually(b, 20*time.Second, "%s in the mesh", func() bool {
			e, _, err := agent.Client.Health().Connect(name, "", true, nil)
			return err == nil && len(e) > 0
		}, name)
	}

	for _, n := range []int{1, 4} {
		plain.scaleTo(b, n, "0s")
		for len(meshed.workers) < n {
			meshed.workers = append(meshed.workers, testbed.StartService(b, "worker",
				append(meshEnv, "WORKER_PAUSE=0s", "WORKER_FLUSH_EVERY=250ms", "GOMAXPROCS=1")...))
		}
		time.Sleep(3 * time.Second)
		const d = 15 * time.Second
		p0, m0, t0 := plain.redis.Hashes(), meshed.redis.Hashes(), time.Now()
		time.Sleep(d)
		p1, m1 := plain.redis.Hashes(), meshed.redis.Hashes()
		secs := time.Since(t0).Seconds()
		pr, mr := float64(p1-p0)/secs, float64(m1-m0)/secs
		tb.add(n, pr, mr, fmt.Sprintf("%.1f%%", 100*(pr-mr)/pr))
	}
	tb.note("Hashes counted in each stack's Redis over 15 s after 3 s of warm-up.")
}
