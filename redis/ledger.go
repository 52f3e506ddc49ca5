// Package redis keeps DockerCoins' counters in Redis: the hashes counted, the wallet of
// coins, and per-second buckets from which the speed is read exactly.
package redis

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dockercoins/dockercoins"
	goredis "github.com/redis/go-redis/v9"
)

// bucketTTL keeps per-second buckets long enough for the widest chart.
const bucketTTL = 180

//go:embed apply.lua
var applySource string

var applyScript = goredis.NewScript(applySource)

// releaseScript gives up a lease only if it is still the caller's.
var releaseScript = goredis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// Ledger applies workers' batches to Redis exactly once; it is the dockercoins.Ledger.
type Ledger struct {
	Client goredis.UniversalClient
	Worker string // the identity whose sequence numbers the batches carry
	// Owner, if set, is this process's nonce: a batch applies only while the lease
	// owner:<Worker> is free or Owner's, and applying renews it for Lease. It keeps
	// two live processes from using one identity (say, a copied data directory).
	Owner string
	Lease time.Duration
}

// Apply adds a batch to the counters. It runs as one script that checks every key
// before it writes, so a batch lands whole or not at all, and a batch whose Seq was
// already applied (a retry after a lost reply) is skipped: a counted hash is never
// counted twice. It reports whether the batch was new. An error reply from the script
// (a key of the wrong type, a lease held by another process) wraps
// dockercoins.ErrRejected: Redis answered, and nothing was written.
func (l *Ledger) Apply(ctx context.Context, b dockercoins.Batch) (bool, error) {
	keys := []string{dockercoins.HashesKey, dockercoins.WalletKey,
		dockercoins.AppliedPrefix + l.Worker, dockercoins.OwnerPrefix + l.Worker}
	args := []any{b.Seq, b.Hashes, bucketTTL, len(b.Coins), dockercoins.SpeedPrefix, l.Owner, max(l.Lease.Milliseconds(), 1)}
	for hash, bytes := range b.Coins {
		args = append(args, hash, bytes)
	}
	for sec, n := range b.Seconds {
		args = append(args, strconv.FormatInt(sec, 10), n)
	}
	n, err := applyScript.Run(ctx, l.Client, keys, args...).Int()
	if err != nil {
		// A Redis error reply means the script ran (or was refused) and answered;
		// anything else (a timeout, a reset, EOF) may have lost a reply to a batch
		// that was applied.
		var reply goredis.Error
		if errors.As(err, &reply) {
			return false, fmt.Errorf("apply batch %d: %w: %w", b.Seq, dockercoins.ErrRejected, err)
		}
		return false, fmt.Errorf("apply batch %d: %w", b.Seq, err)
	}
	return n == 1, nil
}

// Release gives up the lease on the identity if this process still holds it, so the
// next process with the identity (a restart in the same data dir) need not wait for
// it to expire.
func (l *Ledger) Release(ctx context.Context) error {
	if l.Owner == "" {
		return nil
	}
	return releaseScript.Run(ctx, l.Client, []string{dockercoins.OwnerPrefix + l.Worker}, l.Owner).Err()
}
