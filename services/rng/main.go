// Command rng serves random bytes, deliberately slowly and one request at a time, so
// that it becomes the bottleneck of DockerCoins.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dockercoins/dockercoins/internal/serve"
	"github.com/dockercoins/dockercoins/internal/settings"
)

func main() { serve.Main("rng", defaultAddr, run) }

// defaultAddr is the workshop's port for rng.
const defaultAddr = ":8001"

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var common serve.Settings
	var cfg Config
	s := settings.New("rng", stdout)
	common.Register(s, "rng", defaultAddr)
	s.Duration(&cfg.Delay, "delay", "RNG_DELAY", 100*time.Millisecond, "time each request holds an entropy slot")
	s.Int(&cfg.Slots, "slots", "RNG_SLOTS", 1, "requests served at once; more wait in line")
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	if cfg.Slots < 1 {
		return fmt.Errorf("slots must be at least 1, got %d", cfg.Slots)
	}
	log, err := common.Logger(stdout)
	if err != nil {
		return err
	}
	cfg.Hostname, _ = os.Hostname()
	log.Info("starting", "delay", cfg.Delay, "slots", cfg.Slots)
	return common.Serve(ctx, log, NewServer(cfg))
}
