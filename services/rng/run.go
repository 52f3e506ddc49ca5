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
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	if cfg.Slots < 1 {
		return fmt.Errorf("slots must be at least 1, got %d", cfg.Slots)
	}
	p, err := platform.Start(ctx, common, stdout)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	cfg.Hostname, _ = os.Hostname()
	p.Log.Info("starting", "delay", cfg.Delay, "slots", cfg.Slots)
	return p.Serve(ctx, NewServer(cfg))
}
