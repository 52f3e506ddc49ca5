package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/redis"
	"github.com/dockercoins/dockercoins/test/testbed"
	"github.com/hashicorp/nomad/api"
	goredis "github.com/redis/go-redis/v9"
)

// The app's groups, and what each one's GET / starts with (the worker's is its JSON status).
var groups = map[string]string{"rng": "RNG running on", "hasher": "HASHER running on", "worker": `{"hostname":`, "webui": "<!"}

// jobFile is the path of one of the job files.
func jobFile(name string) string { return filepath.Join(testbed.Root(), "jobs", name) }

// appVars are the app job's variables for a test: the binaries built for it, short
// delays so counts grow fast, JSON logs to read the workers' final counts from, and
// quick rolling updates. extra overrides them, as name, value pairs.
func appVars(t testing.TB, extra ...string) nomad.Vars {
	v := lab.QuickVars()
	v["bin_dir"] = filepath.Dir(testbed.Binary(t, "worker"))
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	return v
}

// run parses a job file through the agent with vars, lets change adjust the job (nil
// for none), registers it and waits for its deployment.
func run(t testing.TB, c *nomad.Client, file string, vars nomad.Vars, change func(*api.Job)) uint64 {
	t.Helper()
	job, err := c.ParseFile(jobFile(file), vars)
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(job)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	version, err := c.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	return version
}

func waitRunning(t testing.TB, c *nomad.Client, group string, n int) []nomad.Alloc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocs, err := c.WaitRunning(ctx, "dockercoins", group, n)
	if err != nil {
		t.Fatal(err)
	}
	return allocs
}

// srv asks a Consul DNS server for a service's SRV records and returns each instance as
// ip:port, sorted.
func srv(dnsAddr, service string) ([]string, error) {
	var d net.Dialer
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, dnsAddr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, records, err := r.LookupSRV(ctx, "", "", service+".service.consul.")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rec := range records {
		ips, err := r.LookupIP(ctx, "ip4", rec.Target)
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", rec.Target, err)
		}
		out = append(out, net.JoinHostPort(ips[0].String(), strconv.Itoa(int(rec.Port))))
	}
	slices.Sort(out)
	return out, nil
}

// waitDNS waits until Consul DNS answers for service with exactly the given instances.
func waitDNS(t testing.TB, dnsAddr, service string, want []string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	var got []string
	var err error
	if !testbed.Within(30*time.Second, func() bool {
		got, err = srv(dnsAddr, service)
		return err == nil && slices.Equal(got, want)
	}) {
		t.Fatalf("consul dns for %s: got %v (%v), want %v", service, got, err, want)
	}
}

// addrs lists the allocations' addresses for a port label.
func addrs(allocs []nomad.Alloc, label string) []string {
	var out []string
	for _, a := range allocs {
		out = append(out, a.Addrs[label])
	}
	return out
}

func httpGet(url string) (int, string, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// redisOf connects to the Redis the redis job runs.
func redisOf(t testing.TB, c *nomad.Client) *goredis.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	allocs, err := c.WaitRunning(ctx, "redis", "redis", 1)
	if err != nil {
		t.Fatal(err)
	}
	r := goredis.NewClient(&goredis.Options{Addr: allocs[0].Addrs["db"], Password: redisPassword(t, c)})
	t.Cleanup(func() { r.Close() })
	return r
}

// redisPassword is the password the stack of c gave its Redis.
func redisPassword(t testing.TB, c *nomad.Client) string {
	t.Helper()
	p, err := lab.RedisPassword(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func hashes(t testing.TB, r *goredis.Client) int64 {
	t.Helper()
	n, err := r.Get(context.Background(), dockercoins.HashesKey).Int64()
	if err != nil && err != goredis.Nil {
		t.Fatalf("read hashes: %v", err)
	}
	return n
}

// speed measures the hashes counted in Redis per second over d.
func speed(t testing.TB, r *goredis.Client, d time.Duration) float64 {
	h0, t0 := hashes(t, r), time.Now()
	time.Sleep(d)
	return float64(hashes(t, r)-h0) / time.Since(t0).Seconds()
}

// waitHashesRise waits until Redis counts more than from hashes.
func waitHashesRise(t testing.TB, r *goredis.Client, from int64, within time.Duration) int64 {
	t.Helper()
	var n int64
	testbed.Eventually(t, within, "hashes in redis to rise above %d", func() bool {
		n = hashes(t, r)
		return n > from
	}, from)
	return n
}

// tally is what workers said when they stopped.
type tally struct {
	workers, stops              int
	loops, flushed, lost, coins int64
}

// add reads the "stopped" events in a worker's JSON log.
func (s *tally) add(log string) {
	s.workers++
	for _, line := range strings.Split(log, "\n") {
		var ev struct {
			Msg                         string
			Loops, Flushed, Lost, Coins int64
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Msg != "stopped" {
			continue
		}
		s.stops++
		s.loops += ev.Loops
		s.flushed += ev.Flushed
		s.lost += ev.Lost
		s.coins += ev.Coins
	}
}

// checkExact compares what the workers said with what Redis holds: every loop a worker
// completed is counted once, none is lost and none twice.
func checkExact(t testing.TB, s tally, r *goredis.Client) {
	t.Helper()
	if s.stops != s.workers {
		t.Errorf("%d worker allocations logged %d stop events, want one each", s.workers, s.stops)
	}
	if s.lost != 0 || s.flushed != s.loops {
		t.Errorf("workers completed %d loops, flushed %d, lost %d", s.loops, s.flushed, s.lost)
	}
	got := hashes(t, r)
	if got != s.loops {
		t.Errorf("redis counts %d hashes; the %d workers completed %d loops", got, s.workers, s.loops)
	}
	coins, _ := r.HLen(context.Background(), dockercoins.WalletKey).Result()
	if coins != s.coins {
		t.Errorf("wallet holds %d coins; workers found %d", coins, s.coins)
	}
	t.Logf("%d workers: %d loops, %d coins, each counted once", s.workers, s.loops, s.coins)
}

// stopApp stops the app job, so every worker flushes and logs its final count.
func stopApp(t testing.TB, c *nomad.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Stop(ctx, "dockercoins"); err != nil {
		t.Fatal(err)
	}
}

// stopAndTally stops the app job and adds up what every worker allocation logged.
func stopAndTally(t testing.TB, c *nomad.Client) tally {
	t.Helper()
	stopApp(t, c)
	var s tally
	for _, a := range allocsOf(t, c, "worker") {
		log, err := c.TaskLog(a.ID, "worker", "stdout")
		if err != nil {
			t.Fatal(err)
		}
		s.add(log)
	}
	return s
}

// allocsOf lists every allocation of an app group, of every version.
func allocsOf(t testing.TB, c *nomad.Client, group string) []nomad.Alloc {
	t.Helper()
	all, err := c.Allocations("dockercoins")
	if err != nil {
		t.Fatal(err)
	}
	var out []nomad.Alloc
	for _, a := range all {
		if a.Group == group {
			out = append(out, a)
		}
	}
	return out
}

// nodesOf lists the distinct nodes allocations run on.
func nodesOf(allocs []nomad.Alloc) []string {
	var out []string
	for _, a := range allocs {
		out = append(out, a.Node)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// waitPlaced waits until n healthy allocations of an app group run, none on node
// avoid, and returns them.
func waitPlaced(t testing.TB, c *nomad.Client, group string, n int, avoid string) []nomad.Alloc {
	t.Helper()
	var got []nomad.Alloc
	testbed.Eventually(t, 90*time.Second, "%d healthy %s allocations off %s", func() bool {
		running, err := c.Running("dockercoins", group)
		if err != nil {
			return false
		}
		got = running
		for _, a := range running {
			if !a.Healthy || a.Node == avoid {
				return false
			}
		}
		return len(running) == n
	}, n, group, avoid)
	return got
}

// checkNoGap checks that loops were counted in every second from from to to: the
// per-second buckets the workers write show mining never stopped.
func checkNoGap(t testing.TB, r *goredis.Client, from, to time.Time) {
	t.Helper()
	time.Sleep(2 * time.Second) // the last seconds' counts are still being flushed
	counts, err := (&redis.Reader{Client: r}).Buckets(context.Background(), from.Unix(), to.Unix()-1)
	if err != nil {
		t.Fatal(err)
	}
	var gaps []int64
	lowest := int64(-1)
	for i, n := range counts {
		if n == 0 {
			gaps = append(gaps, int64(i))
		}
		if lowest < 0 || n < lowest {
			lowest = n
		}
	}
	if len(gaps) > 0 {
		t.Errorf("no hash counted in second(s) %v of %s", gaps, to.Sub(from).Round(time.Second))
	}
	t.Logf("%s without a gap; slowest second: %d hashes", to.Sub(from).Round(time.Second), lowest)
}
