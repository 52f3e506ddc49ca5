package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/test/testbed"
	"github.com/hashicorp/nomad/api"
	goredis "github.com/redis/go-redis/v9"
)

// redisVars are the redis job's variables: redis/redis.conf, as the lab passes it.
func redisVars(t testing.TB, extra ...string) nomad.Vars {
	t.Helper()
	conf, err := lab.RedisConf(testbed.Root())
	if err != nil {
		t.Fatal(err)
	}
	v := nomad.Vars{"redis_conf": conf}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	return v
}

// counterWatch samples a counter until stopped and remembers every time it went down.
type counterWatch struct {
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	samples int
	drops   []string
}

// watchCounter samples read every 20 ms; a failed read (Redis down) is skipped.
func watchCounter(name string, read func() (int64, error)) *counterWatch {
	w := &counterWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		last := int64(-1)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			n, err := read()
			if err != nil {
				continue
			}
			w.mu.Lock()
			w.samples++
			if n < last {
				w.drops = append(w.drops, fmt.Sprintf("%s went from %d to %d at %s", name, last, n, time.Now().Format("15:04:05.000")))
			}
			w.mu.Unlock()
			last = max(last, n)
		}
	}()
	return w
}

// check stops the sampling and fails the test if the counter ever went down.
func (w *counterWatch) check(t testing.TB) {
	t.Helper()
	close(w.stop)
	<-w.done
	if len(w.drops) > 0 {
		t.Errorf("the counter went backwards:\n%s", strings.Join(w.drops, "\n"))
	}
	if w.samples < 10 {
		t.Errorf("the counter was read only %d times", w.samples)
	}
}

func redisHashes(c *goredis.Client) func() (int64, error) {
	return func() (int64, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := c.Get(ctx, dockercoins.HashesKey).Int64()
		if err == goredis.Nil {
			return 0, nil
		}
		return n, err
	}
}

func webuiCounter(url string) func() (int64, error) {
	return func() (int64, error) {
		code, body := getJSONQuiet(url + "/json")
		if code != http.StatusOK {
			return 0, fmt.Errorf("webui answered %d", code)
		}
		n, ok := body["hashes"].(float64)
		if !ok {
			return 0, fmt.Errorf("no hashes in %v", body)
		}
		return int64(n), nil
	}
}

// TestRedisCrashLosesNoCount kills redis-server with SIGKILL three times while three
// workers mine, and starts it again each time on the same data folder and
// configuration, as Nomad restarts the task: Redis comes back with every hash it had
// acknowledged, the counter, in Redis and in the web UI, never goes down, and when the
// workers stop Redis holds exactly the loops and coins they completed.
func TestRedisCrashLosesNoCount(t *testing.T) {
	a := startApp(t)
	var workers []*testbed.Service
	for range 3 {
		workers = append(workers, a.worker(t))
	}
	webui := testbed.StartService(t, "webui", "REDIS_ADDR="+a.redis.Addr, "REDIS_PASSWORD="+a.redis.Password)
	c := a.redis.Client()
	defer c.Close()
	inRedis := watchCounter("hashes in redis", redisHashes(c))
	inWebui := watchCounter("the web UI's hashes", webuiCounter(webui.URL()))

	waitHashes(t, a.redis, 100)
	for crash := 1; crash <= 3; crash++ {
		before := a.redis.Hashes()
		a.redis.Kill()
		for _, w := range workers {
			mined := loopsDone(t, w)
			testbed.Eventually(t, 10*time.Second, "the workers to keep mining while Redis is down", func() bool {
				return loopsDone(t, w) > mined+20
			})
		}
		a.redis.Restart()
		after := a.redis.Hashes()
		t.Logf("crash %d: %d hashes before the kill, %d after the restart", crash, before, after)
		if after < before {
			t.Fatalf("crash %d: Redis came back with %d hashes; it had acknowledged %d", crash, after, before)
		}
		waitHashes(t, a.redis, after+100)
	}

	var loops, coins int64
	for _, w := range workers {
		l, c := stopped(t, w, syscall.SIGTERM)
		loops, coins = loops+l, coins+c
	}
	inRedis.check(t)
	inWebui.check(t)
	a.redis.CheckCounted(t, loops, coins)
	t.Logf("%d loops, %d coins, all counted once across three crashes", loops, coins)
}

// TestRedisFullRefusesWritesAndLosesNoCount fills Redis (maxmemory lowered below what
// it holds): with noeviction it refuses the workers' batches and evicts nothing, the
// worker keeps its tally, and once there is room again every loop is counted once.
func TestRedisFullRefusesWritesAndLosesNoCount(t *testing.T) {
	a := startApp(t)
	c := a.redis.Client()
	defer c.Close()
	ctx := context.Background()
	if policy, err := c.ConfigGet(ctx, "maxmemory-policy").Result(); err != nil || policy["maxmemory-policy"] != "noeviction" {
		t.Fatalf("maxmemory-policy is %v (%v), want noeviction", policy, err)
	}
	if limit, err := c.ConfigGet(ctx, "maxmemory").Result(); err != nil || limit["maxmemory"] != fmt.Sprint(256<<20) {
		t.Fatalf("maxmemory is %v (%v), want 256 MB", limit, err)
	}
	w := a.worker(t)
	waitHashes(t, a.redis, 50)

	if err := c.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	keys := c.DBSize(ctx).Val()
	// An OOM is an error reply: Redis refused the batch, nothing of it landed.
	ev := w.WaitEvent(t, "redis refused the batch; keeping the count", 10*time.Second)
	if err, _ := ev["err"].(string); !strings.Contains(err, "OOM") {
		t.Errorf("the worker's flush failed with %q, want an OOM error", err)
	}
	held := a.redis.Hashes()
	before := loopsDone(t, w)
	testbed.Eventually(t, 10*time.Second, "the worker to keep mining while Redis is full", func() bool {
		return loopsDone(t, w) > before+50
	})
	if got := a.redis.Hashes(); got != held {
		t.Fatalf("a full Redis counted hashes: %d, then %d", held, got)
	}
	if got := c.DBSize(ctx).Val(); got < keys {
		t.Fatalf("a full Redis dropped keys: %d, then %d", keys, got)
	}
	for _, key := range []string{dockercoins.HashesKey, dockercoins.AppliedPrefix + "*"} {
		if n, _ := c.Keys(ctx, key).Result(); len(n) == 0 {
			t.Fatalf("a full Redis lost %s", key)
		}
	}

	if err := c.ConfigSet(ctx, "maxmemory", "256mb").Err(); err != nil {
		t.Fatal(err)
	}
	waitHashes(t, a.redis, held+50)
	loops, _ := stopped(t, w, syscall.SIGTERM)
	a.redis.CheckCounted(t, loops, -1)
}

func getJSONQuiet(url string) (int, map[string]any) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return 0, nil
	}
	return resp.StatusCode, m
}

// redisTaskPid finds the redis-server of the redis job's allocation allocID on node: it
// works in its --dir, <data_dir>/alloc/<allocID>/alloc/data. (Its environment cannot
// tell: redis-server writes its process title over it.)
func redisTaskPid(node *testbed.Node, allocID string) int {
	if pids := lab.TaskPids(node.Pids(), "redis-server", allocID); len(pids) > 0 {
		return pids[0]
	}
	return 0
}

// killNomadRedis kills the redis job's redis-server with SIGKILL while the workers mine:
// Nomad restarts the task in the same allocation, on the same data folder, and it comes
// back with every hash it had; the counter never goes down and keeps rising.
func killNomadRedis(t *testing.T, dev *testbed.NomadDev, r *goredis.Client) {
	c := dev.Nomad
	allocs, err := c.Running("redis", "redis")
	if err != nil || len(allocs) != 1 {
		t.Fatalf("redis allocations: %v %v", allocs, err)
	}
	pid := redisTaskPid(dev.Node, allocs[0].ID)
	if pid == 0 {
		t.Fatalf("no redis-server of allocation %s runs in the node", allocs[0].ID)
	}
	watch := watchCounter("hashes in redis", redisHashes(r))
	h := waitHashesRise(t, r, hashes(t, r)+20, 30*time.Second)
	before := hashes(t, r)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var newPid int
	testbed.Eventually(t, 60*time.Second, "Nomad to restart redis-server", func() bool {
		newPid = redisTaskPid(dev.Node, allocs[0].ID)
		return newPid != 0 && newPid != pid
	})
	var after int64
	testbed.Eventually(t, 30*time.Second, "the restarted Redis to answer", func() bool {
		n, err := redisHashes(r)()
		after = n
		return err == nil
	})
	t.Logf("redis-server %d killed at %d hashes (%d a moment before); pid %d answers %s later with %d",
		pid, before, h, newPid, time.Since(killed).Round(100*time.Millisecond), after)
	if after < before {
		t.Fatalf("Redis came back with %d hashes; it had %d before the kill", after, before)
	}
	waitHashesRise(t, r, after+20, 30*time.Second)
	watch.check(t)
	// The client reports the task's restart to the servers a moment after it: until
	// then the allocation may show as pending.
	var now []nomad.Alloc
	if !testbed.Within(30*time.Second, func() bool {
		now, err = c.Running("redis", "redis")
		return err == nil && len(now) == 1
	}) || now[0].ID != allocs[0].ID {
		t.Errorf("after the kill redis runs in %v (%v), want the same allocation %s", now, err, allocs[0].ID)
	}
}

// replaceNomadRedis runs a new version of the redis job (only its meta changes), so
// Nomad replaces the allocation; the sticky ephemeral disk hands the new allocation on
// the same node the old one's data. It returns a client of the new Redis, which the
// caller closes.
func replaceNomadRedis(t *testing.T, dev *testbed.NomadDev, r *goredis.Client) *goredis.Client {
	c := dev.Nomad
	old, err := c.Running("redis", "redis")
	if err != nil || len(old) != 1 {
		t.Fatalf("redis allocations: %v %v", old, err)
	}
	waitHashesRise(t, r, hashes(t, r)+20, 30*time.Second)
	before := hashes(t, r)
	run(t, c, "redis.nomad.hcl", redisVars(t), func(j *api.Job) { j.SetMeta("release", "2") })
	var now []nomad.Alloc
	testbed.Eventually(t, 60*time.Second, "a new redis allocation to run", func() bool {
		now, _ = c.Running("redis", "redis")
		return len(now) == 1 && now[0].ID != old[0].ID
	})
	if now[0].NodeID != old[0].NodeID {
		t.Fatalf("the new allocation runs on %s, the old one ran on %s", now[0].Node, old[0].Node)
	}
	nr := goredis.NewClient(&goredis.Options{Addr: now[0].Addrs["db"], Password: redisPassword(t, c)})
	var after int64
	testbed.Eventually(t, 30*time.Second, "the new Redis to answer", func() bool {
		n, err := redisHashes(nr)()
		after = n
		return err == nil
	})
	t.Logf("allocation %s replaced by %s: %d hashes before, %d after", old[0].ID[:8], now[0].ID[:8], before, after)
	if after < before {
		t.Fatalf("the new allocation's Redis holds %d hashes; the old one had %d", after, before)
	}
	waitHashesRise(t, nr, after+20, 30*time.Second)
	return nr
}

// TestComposeRedisIsDurable checks that Compose's Redis runs with redis/redis.conf and
// keeps its data in a named volume.
func TestComposeRedisIsDurable(t *testing.T) {
	p := loadCompose(t)
	s, err := p.GetService("redis")
	if err != nil {
		t.Fatal(err)
	}
	const conf = "/usr/local/etc/redis/redis.conf"
	if len(s.Command) < 2 || s.Command[0] != "redis-server" || s.Command[1] != conf {
		t.Errorf("redis runs %v, want redis-server %s first", s.Command, conf)
	}
	var confMounted, dataVolume bool
	for _, v := range s.Volumes {
		switch {
		case v.Target == conf && v.Source == testbed.ConfigFile():
			confMounted = true
		case v.Target == "/data" && v.Type == "volume" && p.Volumes[v.Source].Name != "":
			dataVolume = true
		}
	}
	if !confMounted {
		t.Errorf("redis does not mount %s at %s: %+v", testbed.ConfigFile(), conf, s.Volumes)
	}
	if !dataVolume {
		t.Errorf("redis keeps /data in no named volume: %+v", s.Volumes)
	}
}
