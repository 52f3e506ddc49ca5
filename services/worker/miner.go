package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/dockercoins/dockercoins/internal/pause"
)

// Miner runs the DockerCoins loop: pause, get random bytes from rng, hash them with
// hasher, count the loop. A loop counts only once both calls succeeded.
type Miner struct {
	Pause  time.Duration
	Random func(ctx context.Context) ([]byte, error)
	Hash   func(ctx context.Context, data []byte) (string, error)
	Tally  *Tally
	Log    *slog.Logger
}

// Run loops until ctx ends; a loop in flight then is abandoned, not counted.
func (m *Miner) Run(ctx context.Context) {
	var backoff time.Duration
	for ctx.Err() == nil {
		if err := m.loop(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			m.Log.Warn("loop failed; backing off", "err", err, "backoff", backoff)
			pause.For(ctx, backoff)
			continue
		}
		backoff = 0
	}
}

func (m *Miner) loop(ctx context.Context) error {
	if err := pause.For(ctx, m.Pause); err != nil {
		return err
	}
	data, err := m.Random(ctx)
	if err != nil {
		return err
	}
	hash, err := m.Hash(ctx, data)
	if err != nil {
		return err
	}
	m.Tally.Add(hash, data, time.Now())
	return nil
}
