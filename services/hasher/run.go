// Package hasher answers the SHA-256 of what is posted to it, after a small delay;
// Client calls it.
package hasher

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/internal/settings"
)

// DefaultAddr is the workshop's port for hasher.
const DefaultAddr = ":8002"

// Run is the hasher program: its settings from args and getenv, its logs to stdout,
// until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var common platform.Settings
	var cfg Config
	s := settings.New(dockercoins.Hasher, stdout)
	common.Register(s, dockercoins.Hasher, DefaultAddr)
	s.Duration(&cfg.Delay, "delay", "HASHER_DELAY", 100*time.Millisecond, "time each hash takes; requests run concurrently")
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	// A hash of 32 bytes takes a microsecond: one P serves thousands a second, and the
	// delay is waiting, which holds none.
	procs := platform.FitProcs(1, getenv("GOMAXPROCS"))
	p, err := platform.Start(ctx, common, stdout)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	cfg.Hostname, _ = os.Hostname()
	p.Log.Info("starting", "delay", cfg.Delay, "gomaxprocs", procs)
	return p.Serve(ctx, NewServer(cfg))
}
