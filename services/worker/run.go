// Package worker mines DockerCoins: it loops forever getting random bytes from rng,
// hashing them with hasher and counting each loop in Redis, exactly once.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/dockercoins/dockercoins/peer"
	"github.com/dockercoins/dockercoins/redis"
	"github.com/dockercoins/dockercoins/services/hasher"
	"github.com/dockercoins/dockercoins/services/rng"
	"go.opentelemetry.io/otel"
)

// DefaultAddr is the workshop's port for worker.
const DefaultAddr = ":8003"

type config struct {
	common       platform.Settings
	peers        peer.Settings
	pause        time.Duration
	flushEvery   time.Duration
	drainTimeout time.Duration
}

// Run is the worker program: its settings from args and getenv, its logs to stdout,
// until ctx ends; then it flushes its count and returns an error if it could not.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c config
	s := settings.New(dockercoins.Worker, stdout)
	c.common.Register(s, dockercoins.Worker, DefaultAddr)
	c.common.Edge = true // called by people and agents, not by mesh peers
	c.peers.Register(s, dockercoins.RNG, dockercoins.Hasher, dockercoins.Redis)
	s.Duration(&c.pause, "pause", "WORKER_PAUSE", 100*time.Millisecond, "pause at the start of every loop")
	s.Duration(&c.flushEvery, "flush-every", "WORKER_FLUSH_EVERY", time.Second, "how often the count goes to Redis")
	s.Duration(&c.drainTimeout, "drain-timeout", "WORKER_DRAIN_TIMEOUT", 10*time.Second, "how long a stopping worker keeps trying to flush its count")
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	p, err := platform.Start(ctx, c.common, stdout)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	log := p.Log
	peers, err := p.Peers(ctx, c.peers)
	if err != nil {
		return err
	}
	defer peers.Close()
	hostname, _ := os.Hostname()
	id := hostname + "-" + randomHex(4)
	rdb := redis.NewClient(peers.Dialer(dockercoins.Redis))
	defer rdb.Close()

	tally := &Tally{}
	metrics, err := NewMetrics(otel.Meter("github.com/dockercoins/dockercoins/services/worker"), tally)
	if err != nil {
		return err
	}
	miner := &Miner{
		Pause:   c.pause,
		RNG:     &rng.Client{Caller: peers.Client(dockercoins.RNG)},
		Hasher:  &hasher.Client{Caller: peers.Client(dockercoins.Hasher)},
		Tally:   tally,
		Log:     log,
		Metrics: metrics,
	}
	flusher := &Flusher{Ledger: &redis.Ledger{Client: rdb, Worker: id}, Tally: tally, Every: c.flushEvery, Log: log}
	status := func() dockercoins.WorkerStatus {
		loops, coins := tally.Totals()
		return dockercoins.WorkerStatus{Hostname: hostname, ID: id, Loops: loops, Coins: coins, Flushed: flusher.Flushed(), Pending: flusher.Pending()}
	}

	log.Info("starting", "id", id, "pause", c.pause)
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { miner.Run(mctx) })
	wg.Go(func() { flusher.Run(mctx) })
	serveErr := p.Serve(mctx, NewServer(status))
	stop()
	wg.Wait()

	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.drainTimeout)
	defer cancel()
	lost := flusher.Drain(dctx)
	loops, coins := tally.Totals()
	log.Info("stopped", "loops", loops, "coins", coins, "flushed", flusher.Flushed(), "lost", lost)
	if lost > 0 {
		return fmt.Errorf("redis unreachable for %s: %d hashes not counted", c.drainTimeout, lost)
	}
	return serveErr
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
