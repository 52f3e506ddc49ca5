// Package rng serves random bytes, deliberately slowly and one request at a time, so
// that it becomes the bottleneck of DockerCoins; Client calls it.
package rng

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/internal/settings"
)

// DefaultAddr is the workshop's port for rng.
const DefaultAddr = ":8001"

// Run is the rng program: its settings from args and getenv, its logs to stdout, until
// ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var common platform.Settings
	var cfg Config
	s := settings.New(dockercoins.RNG, stdout)
	common.Register(s, dockercoins.RNG, DefaultAddr)
	s.Duration(&cfg.Delay, "delay", "RNG_DELAY", 100*time.Millisecond, "time each request holds an entropy slot")
	s.Int(&cfg.Slots, "slots", "RNG_SLOTS", 1, "requests served at once; more wait in line")
	s.Int(&cfg.QueueMax, "queue-max", "RNG_QUEUE_MAX", DefaultQueueMax, "requests that may wait in line; more are answered 503 with Retry-After at once")
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	if cfg.Slots < 1 {
		return fmt.Errorf("slots must be at least 1, got %d", cfg.Slots)
	}
	if cfg.QueueMax < 1 {
		return fmt.Errorf("RNG_QUEUE_MAX must be at least 1, got %d", cfg.QueueMax)
	}
	// A request that waits longer than the write timeout would hold its slot for an
	// answer the server can no longer send.
	if w := cfg.LongestWait(); w >= common.Limits.WriteTimeout {
		return fmt.Errorf("a full queue waits up to %s (RNG_QUEUE_MAX %d x RNG_DELAY %s / RNG_SLOTS %d), not less than HTTP_WRITE_TIMEOUT %s: lower the queue or raise the timeout",
			w, cfg.QueueMax, cfg.Delay, cfg.Slots, common.Limits.WriteTimeout)
	}
	// Its work is serial by design: a P per slot is all it can use.
	procs := platform.FitProcs(cfg.Slots, getenv("GOMAXPROCS"))
	p, err := platform.Start(ctx, common, stdout)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	cfg.Hostname, _ = os.Hostname()
	p.Log.Info("starting", "delay", cfg.Delay, "slots", cfg.Slots, "queue_max", cfg.QueueMax, "longest_wait", cfg.LongestWait(), "gomaxprocs", procs)
	return p.Serve(ctx, NewServer(cfg))
}
