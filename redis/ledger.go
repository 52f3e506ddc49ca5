// Package redis keeps DockerCoins' counters in Redis: the hashes counted, the wallet of
// coins, and per-second buckets from which the speed is read exactly.
package redis

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"
)

// Keys shared with the original DockerCoins, which tools and exercises read.
const (
	HashesKey = "hashes" // loops completed, all workers together
	WalletKey = "wallet" // coin hash -> the random bytes it came from
)

// bucketTTL keeps per-second buckets long enough for the widest chart.
const bucketTTL = 180

// Batch is a worker's tally since its last flush.
type Batch struct {
	Seq     uint64            // increases by one per batch of a worker; makes Apply idempotent
	Hashes  int64             // loops completed
	Coins   map[string][]byte // coin hash -> random bytes
	Seconds map[int64]int64   // unix second -> loops completed in it
}

// Empty reports whether the batch carries nothing.
func (b Batch) Empty() bool { return b.Hashes == 0 && len(b.Coins) == 0 }

//go:embed apply.lua
var applySource string

var applyScript = goredis.NewScript(applySource)

// Ledger applies workers' batches to Redis exactly once.
type Ledger struct {
	Client goredis.UniversalClient
	Worker string // unique per worker process
}

// Apply adds a batch to the counters. It runs as one script, so a batch lands whole or
// not at all, and a batch whose Seq was already applied (a retry after a lost reply) is
// skipped: a counted hash is never counted twice. It reports whether the batch was new.
func (l *Ledger) Apply(ctx context.Context, b Batch) (bool, error) {
	keys := []string{HashesKey, WalletKey, "applied:" + l.Worker}
	args := []any{b.Seq, b.Hashes, bucketTTL, len(b.Coins)}
	for hash, bytes := range b.Coins {
		args = append(args, hash, bytes)
	}
	for sec, n := range b.Seconds {
		args = append(args, strconv.FormatInt(sec, 10), n)
	}
	n, err := applyScript.Run(ctx, l.Client, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("apply batch %d: %w", b.Seq, err)
	}
	return n == 1, nil
}
