// Package dockercoins holds the contracts between DockerCoins' services: the names they
// find each other by, what travels between them (a worker's batch, the web UI's stats,
// a worker's status), the Redis keys the original workshop's tools read, and the span
// names a loop's trace is made of. The services, package redis and the bottleneck
// analysis implement or read these; none of them defines its own copy.
package dockercoins

import (
	"context"
	"errors"
)

// The services, by the names they register and find each other under in Consul.
const (
	RNG    = "rng"
	Hasher = "hasher"
	Worker = "worker"
	WebUI  = "webui"
	Redis  = "redis"
)

// RandomSource serves random bytes: rng's GET /<n>.
type RandomSource interface {
	Random(ctx context.Context, n int) ([]byte, error)
}

// HashFunc answers the hex SHA-256 of data: hasher's POST /.
type HashFunc interface {
	Hash(ctx context.Context, data []byte) (string, error)
}

// Ledger keeps the count: it applies a worker's batch exactly once and reports
// whether the batch was new (false: a retry of a batch already applied). An error that
// wraps ErrRejected is the ledger's own answer that it did not apply the batch; any
// other error leaves the outcome unknown, as when a reply is lost.
type Ledger interface {
	Apply(ctx context.Context, b Batch) (applied bool, err error)
}

// ErrRejected marks a Ledger error that is the ledger's answer, not a lost one: it ran
// and refused the batch (a key of the wrong type, an identity held by another process),
// and nothing of the batch was applied.
var ErrRejected = errors.New("batch rejected by the ledger")

// StatsReader reads what the web UI shows, with a speed series of points seconds.
type StatsReader interface {
	Read(ctx context.Context, points int) (Stats, error)
}

// LoopBytes is how many random bytes a worker asks rng for in each loop, as the
// original worker does.
const LoopBytes = 32

// IsCoin reports whether a hex hash is a coin: as in the original, one starting with 0.
func IsCoin(hash string) bool { return len(hash) > 0 && hash[0] == '0' }
