package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/peer"
	"github.com/dockercoins/dockercoins/redis"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// BenchmarkCluster200 runs the workshop's story at its largest on the 3-client cluster:
// 20 rng, then 200 workers added as `make scale` adds them. It reports the plateau
// against the model, how long the scale-up took to reach it, each node's memory, what
// finding 200 instances through Consul DNS costs, and Redis's load.
func BenchmarkCluster200(b *testing.B) {
	const workers, rngs = 200, 20
	model := min(float64(workers)/0.3, 10*float64(rngs))
	a := startNomadApp(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := lab.Scale(ctx, a.c, "rng", rngs, nil); err != nil {
		b.Fatal(err)
	}

	steps := newTable(fmt.Sprintf("Cluster, 3 clients: scaling the workers 1 -> %d with %d rng, %d at a time", workers, rngs, lab.ScaleStep),
		"workers", "deployed at", "hashes/s in the 5 s before")
	buckets := &bucketLog{r: &redis.Reader{Client: a.redis}}
	start := time.Now()
	err := lab.Scale(ctx, a.c, "worker", workers, func(n int) {
		at := time.Since(start)
		steps.add(n, at.Round(time.Second), buckets.mean(b, time.Now().Unix()-6, 5))
	})
	if err != nil {
		b.Fatal(err)
	}
	deployed := time.Since(start)

	// The plateau: measured once the rate has stopped climbing, then dated back to the
	// first second from which every 3-second mean stayed within 5% of it.
	time.Sleep(10 * time.Second)
	first := time.Now().Unix() + 1
	rate := a.rate(20 * time.Second)
	reached := buckets.plateau(b, start.Unix()+1, first+19, rate*0.95)

	res := newTable(fmt.Sprintf("Cluster, 3 clients: %d workers, %d rng (default delays)", workers, rngs),
		"hashes/s", "model min(W/0.3, 10·R)", "vs model (target ±5%)", "scale request -> all deployed", "-> plateau", "workers per node")
	res.add(rate, model, within(rate, model, 5), deployed.Round(time.Second), reached.Sub(start).Round(time.Second), a.spreadOf())
	res.note("hashes/s: 20 whole seconds from the per-second buckets, 10 s after the last deployment. Plateau: the first second from which every 3-second mean stays at 95%% of that rate or more.")

	mem := newTable("Cluster: memory per node at the plateau (PSS: shared pages split between the processes that map them)", "node", "processes", "in all", "workers (mean)", "rng (mean)", "Nomad agent + executors", "Consul agent")
	inUse, err := testbed.MemInUse()
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range append([]string{"server"}, slices.Sorted(maps.Keys(a.cluster.Clients))...) {
		node := a.cluster.Server
		if name != "server" {
			node = a.cluster.Clients[name]
		}
		m := memoryOf(node.Pids())
		mem.add(name, m.procs, mib(m.total), mib(m.mean("worker")), mib(m.mean("rng")), mib(m.by["nomad"]), mib(m.by["consul"]))
	}
	mem.note("Nomad's executors (one per task) show under the Nomad agent: they are nomad processes too. The machine's memory in use (MemTotal - MemAvailable): %s.", mib(inUse))

	dns := newTable(fmt.Sprintf("Cluster: Consul DNS for %d worker instances", workers), "query", "records", "answer bytes", "time")
	for _, proto := range []string{"udp", "tcp"} {
		ans := testbed.Dig(b, a.cluster.ConsulDNS, "worker.service.consul", proto)
		dns.add("dig SRV over "+proto, fmt.Sprintf("%d (truncated: %v)", ans.Records, ans.Truncated), ans.Size, ans.Took)
	}
	r := &peer.DNS{Server: a.cluster.ConsulDNS}
	t0 := time.Now()
	addrs, err := r.Resolve(ctx, "worker")
	if err != nil {
		b.Fatal(err)
	}
	dns.add("peer.DNS, uncached", fmt.Sprintf("%d (%s)", len(addrs), atLeastCount(len(addrs), workers)), "-", time.Since(t0).Round(time.Microsecond))

	load := newTable("Cluster: Redis at the plateau", "commands/s", "CPU of redis-server", "connected clients")
	info, err := a.redis.Info(ctx, "stats", "clients").Result()
	if err != nil {
		b.Fatal(err)
	}
	var redisPid int
	for _, node := range a.cluster.Clients {
		for _, pid := range node.Pids() {
			if testbed.Comm(pid) == "redis-server" {
				redisPid = pid
			}
		}
	}
	cpu0, _ := testbed.CPUTime(redisPid)
	cmds0 := infoField(info, "total_commands_processed")
	time.Sleep(10 * time.Second)
	info, _ = a.redis.Info(ctx, "stats", "clients").Result()
	cpu1, _ := testbed.CPUTime(redisPid)
	load.add(float64(infoField(info, "total_commands_processed")-cmds0)/10, fmt.Sprintf("%.1f%% of a core", 100*(cpu1-cpu0).Seconds()/10), infoField(info, "connected_clients"))
}

// bucketLog reads the per-second buckets as the benchmark goes, keeping each second it
// has read, so the plateau can be dated after the fact.
type bucketLog struct {
	r    *redis.Reader
	seen map[int64]int64
}

// mean is the mean of the n whole seconds from first.
func (l *bucketLog) mean(b *testing.B, first int64, n int) float64 {
	counts := l.read(b, first, first+int64(n)-1)
	var sum int64
	for _, c := range counts {
		sum += c
	}
	return float64(sum) / float64(n)
}

func (l *bucketLog) read(b *testing.B, first, last int64) []int64 {
	counts, err := l.r.Buckets(context.Background(), first, last)
	if err != nil {
		b.Fatal(err)
	}
	if l.seen == nil {
		l.seen = map[int64]int64{}
	}
	for i, c := range counts {
		l.seen[first+int64(i)] = c
	}
	return counts
}

// plateau is the first second from which every 3-second mean up to last is at least
// floor. The buckets live 180 s, so seconds older than that count as read earlier.
func (l *bucketLog) plateau(b *testing.B, first, last int64, floor float64) time.Time {
	l.read(b, max(first, last-170), last)
	at := last
	for s := last - 2; s >= first; s-- {
		if float64(l.seen[s]+l.seen[s+1]+l.seen[s+2])/3 < floor {
			break
		}
		at = s
	}
	return time.Unix(at, 0)
}

// nodeMemory sums the PSS of a node's processes, by command name.
type nodeMemory struct {
	procs int
	total int64
	by    map[string]int64
	count map[string]int
}

func memoryOf(pids []int) nodeMemory {
	u := nodeMemory{by: map[string]int64{}, count: map[string]int{}}
	for _, pid := range pids {
		pss, err := testbed.PSS(pid)
		if err != nil {
			continue // gone meanwhile
		}
		name := testbed.Comm(pid)
		u.procs++
		u.total += pss
		u.by[name] += pss
		u.count[name]++
	}
	return u
}

func (u nodeMemory) mean(name string) int64 {
	if u.count[name] == 0 {
		return 0
	}
	return u.by[name] / int64(u.count[name])
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// infoField reads one integer field of Redis's INFO answer.
func infoField(info, name string) int64 {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			var n int64
			fmt.Sscan(v, &n)
			return n
		}
	}
	return -1
}
