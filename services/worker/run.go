// Package worker mines DockerCoins: it loops forever getting random bytes from rng,
// hashing them with hasher and counting each loop in Redis, exactly once.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
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
	redisAuth    redis.Auth
	pause        time.Duration
	flushEvery   time.Duration
	drainTimeout time.Duration
	dataDir      string
	journalLimit int
	lease        time.Duration
}

// Run is the worker program: its settings from args and getenv, its logs to stdout,
// until ctx ends; then it flushes its count and returns an error if it could not.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c config
	s := settings.New(dockercoins.Worker, stdout)
	c.common.Register(s, dockercoins.Worker, DefaultAddr)
	c.common.Edge = true // called by people and agents, not by mesh peers
	c.peers.Register(s, dockercoins.RNG, dockercoins.Hasher, dockercoins.Redis)
	c.redisAuth.Register(s)
	s.Duration(&c.pause, "pause", "WORKER_PAUSE", 100*time.Millisecond, "pause at the start of every loop")
	s.Duration(&c.flushEvery, "flush-every", "WORKER_FLUSH_EVERY", time.Second, "how often the count goes to Redis")
	s.Duration(&c.drainTimeout, "drain-timeout", "WORKER_DRAIN_TIMEOUT", 10*time.Second, "how long a stopping worker keeps trying to flush its count")
	s.String(&c.dataDir, "data-dir", "WORKER_DATA_DIR", "", "folder for the worker's identity and its journal of unflushed loops, replayed by the next process there; empty: no journal")
	s.Int(&c.journalLimit, "journal-limit", "WORKER_JOURNAL_LIMIT", 100000, "with a data dir, the most loops kept unflushed: mining pauses there until Redis takes the count")
	s.Duration(&c.lease, "lease", "WORKER_LEASE", 15*time.Second, "with a data dir, how long Redis reserves the identity for this process after each flush")
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	if err := c.redisAuth.Load(); err != nil {
		return err
	}
	// One loop at a time, a flush a second: a second P only costs thread switches
	// (83 µs of CPU a loop on 1 P at zero delay, 117 on 2).
	procs := platform.FitProcs(1, getenv("GOMAXPROCS"))
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
	rdb := redis.NewClient(peers.Dialer(dockercoins.Redis), c.redisAuth)
	defer rdb.Close()
	tally := &Tally{}
	ledger := &redis.Ledger{Client: rdb, Worker: hostname + "-" + randomHex(4)}
	flusher := &Flusher{Ledger: ledger, Tally: tally, Every: c.flushEvery, Log: log}
	var replayed int64
	if c.dataDir != "" {
		dir, journal, st, err := openJournal(c.dataDir, hostname, log)
		if err != nil {
			return err
		}
		defer dir.Close()
		defer journal.Close()
		// The identity is the folder's, so the journal's sequence numbers stay valid;
		// the nonce is this process's, so Redis refuses a second live holder.
		ledger.Worker, ledger.Owner, ledger.Lease = dir.ID, randomHex(8), c.lease
		tally.Resume(journal, st)
		flusher.Journal = journal
		flusher.Replay(st.Batches)
		replayed = st.Loops()
		log.Info("journal replayed", "path", dir.JournalPath(), "id", dir.ID, "seq", st.Seq,
			"batches", len(st.Batches), "loops", replayed, "coins", coinsIn(st))
	}
	id := ledger.Worker

	metrics, err := NewMetrics(otel.Meter("github.com/dockercoins/dockercoins/services/worker"), tally, flusher.Anomalies)
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
	if c.dataDir != "" && c.journalLimit > 0 {
		miner.Limit, miner.Pending = int64(c.journalLimit), flusher.Pending
	}
	status := func() dockercoins.WorkerStatus {
		loops, coins := tally.Totals()
		return dockercoins.WorkerStatus{Hostname: hostname, ID: id, Loops: loops, Coins: coins,
			Flushed: flusher.Flushed(), Pending: flusher.Pending(), Replayed: replayed, Anomalies: flusher.Anomalies()}
	}

	log.Info("starting", "id", id, "pause", c.pause, "gomaxprocs", procs)
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
	left := flusher.Drain(dctx)
	loops, coins := tally.Totals()
	// With a journal, what the drain could not flush is kept there for the next
	// process in this data dir; without one it is lost.
	lost, kept := left, int64(0)
	if c.dataDir != "" {
		lost, kept = 0, left
	}
	log.Info("stopped", "loops", loops, "coins", coins, "flushed", flusher.Flushed(), "lost", lost,
		"kept_in_journal", kept, "replayed", replayed, "anomalies", flusher.Anomalies(), "anomalous_hashes", flusher.Anomalous())
	if left == 0 {
		if err := ledger.Release(dctx); err != nil {
			log.Warn("could not release the identity's lease; the next process waits for it to expire", "err", err)
		}
	}
	if lost > 0 {
		return fmt.Errorf("redis unreachable for %s: %d hashes not counted", c.drainTimeout, lost)
	}
	if kept > 0 {
		return fmt.Errorf("redis unreachable for %s: %d hashes kept in the journal in %s for the next start", c.drainTimeout, kept, c.dataDir)
	}
	return serveErr
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// openJournal locks the data dir and replays its journal.
func openJournal(path, hostname string, log *slog.Logger) (*DataDir, *Journal, JournalState, error) {
	dir, err := OpenDataDir(path, hostname)
	if err != nil {
		return nil, nil, JournalState{}, err
	}
	journal, st, err := OpenJournal(dir.JournalPath(), log)
	if err != nil {
		dir.Close()
		return nil, nil, st, err
	}
	return dir, journal, st, nil
}

func coinsIn(st JournalState) int {
	n := len(st.Pending.Coins)
	for _, b := range st.Batches {
		n += len(b.Coins)
	}
	return n
}
