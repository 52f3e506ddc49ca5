// Package redis keeps DockerCoins' counters in Redis: the hashes counted, the wallet of
// coins, and per-second buckets from which the speed is read exactly.
package redis

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"

	"github.com/dockercoins/dockercoins"
	goredis "github.com/redis/go-redis/v9"
)

// bucketTTL keeps per-second buckets long enough for the widest chart.
const bucketTTL = 180

//go:embed apply.lua
var applySource string

var applyScript = goredis.NewScript(applySource)

// Ledger applies workers' batches to Redis exactly once; it is the dockercoins.Ledger.
type Ledger struct {
	Client goredis.UniversalClient
	Worker string // unique per worker process
}

// Apply adds a batch to the counters. It runs as one script, so a batch lands whole or
// not at all, and a batch whose Seq was already applied (a retry after a lost reply) is
// skipped: a counted hash is never counted twice. It reports whether the batch was new.
func (l *Ledger) Apply(ctx context.Context, b dockercoins.Batch) (bool, error) {
	keys := []string{dockercoins.HashesKey, dockercoins.WalletKey, dockercoins.AppliedPrefix + l.Worker}
	args := []any{b.Seq, b.Hashes, bucketTTL, len(b.Coins), dockercoins.SpeedPrefix}
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
