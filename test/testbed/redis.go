package testbed

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
	goredis "github.com/redis/go-redis/v9"
)

// Redis is a redis-server of the test's own, on a free port.
type Redis struct {
	Addr string
	port int
	dir  string
	t    testing.TB
	proc *Proc
}

// StartRedis starts redis-server (from Debian's redis-server package) without
// persistence, except the snapshot Stop takes so Restart finds the data again.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not found: install it (apt-get install redis-server)")
	}
	port := FreePort(t)
	r := &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), port: port, dir: t.TempDir(), t: t}
	r.start()
	return r
}

func (r *Redis) start() {
	r.t.Helper()
	r.proc = Start(r.t, "redis", nil, "redis-server",
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--dbfilename", "dump.rdb")
	c := r.Client()
	defer c.Close()
	Eventually(r.t, 10*time.Second, "redis to answer", func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
}

// Client returns a new client; the caller closes it.
func (r *Redis) Client() *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: r.Addr})
}

// Stop saves a snapshot and shuts Redis down, as an outage that keeps the data.
func (r *Redis) Stop() {
	c := r.Client()
	defer c.Close()
	c.ShutdownSave(context.Background())
	r.proc.Wait(r.t, 10*time.Second)
}

// Restart starts Redis again on the same port with the saved data.
func (r *Redis) Restart() { r.start() }

// Int reads an integer key, 0 if missing.
func (r *Redis) Int(key string) int64 {
	c := r.Client()
	defer c.Close()
	n, _ := c.Get(context.Background(), key).Int64()
	return n
}

// HLen reads the length of a hash.
func (r *Redis) HLen(key string) int64 {
	c := r.Client()
	defer c.Close()
	n, _ := c.HLen(context.Background(), key).Result()
	return n
}

// Hashes reads the count of hashes all workers have flushed.
func (r *Redis) Hashes() int64 { return r.Int(dockercoins.HashesKey) }

// Coins reads how many coins the wallet holds.
func (r *Redis) Coins() int64 { return r.HLen(dockercoins.WalletKey) }
