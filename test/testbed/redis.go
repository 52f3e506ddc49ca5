package testbed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
	goredis "github.com/redis/go-redis/v9"
)

// Redis is a redis-server of the test's own, on a free port, configured as every stack
// ships it (redis/redis.conf): AOF on, no snapshots, bounded memory, no eviction, and a
// password of its own, as every stack's Redis requires one.
type Redis struct {
	Addr     string
	Password string // give services REDIS_PASSWORD=<it>
	Dir      string // its data: the AOF lives in Dir/appendonlydir
	port     int
	args     []string
	t        testing.TB
	proc     *Proc
}

// ConfigFile is the path of the Redis configuration every stack uses.
func ConfigFile() string { return filepath.Join(Root(), "redis", "redis.conf") }

// StartRedis starts redis-server (from Debian's redis-server package) with the shipped
// configuration, its data in a folder of the test's own; args are added last, so they
// override the file (e.g. "--appendfsync", "everysec").
func StartRedis(t testing.TB, args ...string) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not found: install it (apt-get install redis-server)")
	}
	port := FreePort(t)
	r := &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), Password: secret(), Dir: t.TempDir(), port: port, args: args, t: t}
	r.start()
	return r
}

func (r *Redis) start() {
	r.t.Helper()
	args := append([]string{ConfigFile(), "--requirepass", r.Password,
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.Dir}, r.args...)
	r.proc = Start(r.t, "redis", nil, "redis-server", args...)
	c := r.Client()
	defer c.Close()
	// Ping answers only once the AOF is loaded.
	Eventually(r.t, 20*time.Second, "redis to answer", func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
}

// Client returns a new client; the caller closes it.
func (r *Redis) Client() *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: r.Addr, Password: r.Password})
}

// secret is a new random password.
func secret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Stop stops Redis as Nomad, Compose and systemd do: SIGTERM, after which Redis fsyncs
// the AOF and exits. Nothing else helps it keep its data.
func (r *Redis) Stop() {
	r.t.Helper()
	if err := r.proc.Stop(10 * time.Second); err != nil {
		r.t.Logf("redis exited with %v", err)
	}
}

// Kill kills Redis with SIGKILL, as a crash or `kill -9` does: no shutdown, no save.
func (r *Redis) Kill() { r.proc.Kill() }

// Restart starts Redis again on the same port, configuration and data folder: what it
// holds then is only what its AOF kept.
func (r *Redis) Restart() { r.start() }

// PID is the running redis-server's process id.
func (r *Redis) PID() int { return r.proc.PID() }

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

// CheckCounted fails the test unless Redis counts exactly loops hashes and, if coins is
// not negative, its wallet holds exactly coins coins: every loop the workers completed
// counted once.
func (r *Redis) CheckCounted(t testing.TB, loops, coins int64) {
	t.Helper()
	if got := r.Hashes(); got != loops {
		t.Fatalf("redis counts %d hashes; the workers completed %d loops", got, loops)
	}
	if got := r.Coins(); coins >= 0 && got != coins {
		t.Fatalf("the wallet holds %d coins; the workers found %d", got, coins)
	}
}
