// Command hasher answers the SHA-256 of what is posted to it, after a small delay.
package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/dockercoins/dockercoins/internal/serve"
	"github.com/dockercoins/dockercoins/internal/settings"
)

func main() { serve.Main("hasher", defaultAddr, run) }

// defaultAddr is the workshop's port for hasher.
const defaultAddr = ":8002"

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var common serve.Settings
	var cfg Config
	s := settings.New("hasher", stdout)
	common.Register(s, "hasher", defaultAddr)
	s.Duration(&cfg.Delay, "delay", "HASHER_DELAY", 100*time.Millisecond, "time each hash takes; requests run concurrently")
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	log, err := common.Logger(stdout)
	if err != nil {
		return err
	}
	cfg.Hostname, _ = os.Hostname()
	log.Info("starting", "delay", cfg.Delay)
	return common.Serve(ctx, log, NewServer(cfg))
}
