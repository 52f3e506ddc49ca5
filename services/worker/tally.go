package worker

import (
	"sync"
	"time"

	"github.com/dockercoins/dockercoins"
)

// Tally holds the loops a worker completed that Redis has not been told of yet.
// The zero value is ready to use.
type Tally struct {
	mu      sync.Mutex
	pending dockercoins.Batch
	loops   int64 // completed since start, flushed or not
	coins   int64
	seq     uint64 // of the last batch taken
}

// Add records one completed loop, which produced hash from bytes at time at. It
// returns the sequence number of the batch the loop will reach Redis in, which a
// trace of the loop records to lead to the flush that counted it.
func (t *Tally) Add(hash string, bytes []byte, at time.Time) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.loops++
	t.pending.Hashes++
	if t.pending.Seconds == nil {
		t.pending.Seconds = map[int64]int64{}
	}
	t.pending.Seconds[at.Unix()]++
	if dockercoins.IsCoin(hash) {
		t.coins++
		if t.pending.Coins == nil {
			t.pending.Coins = map[string][]byte{}
		}
		t.pending.Coins[hash] = bytes
	}
	return t.seq + 1
}

// Take removes and returns everything pending; a batch that is not empty gets the
// next sequence number.
func (t *Tally) Take() dockercoins.Batch {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.pending
	t.pending = dockercoins.Batch{}
	if !b.Empty() {
		t.seq++
		b.Seq = t.seq
	}
	return b
}

// PendingHashes counts the loops not yet taken.
func (t *Tally) PendingHashes() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending.Hashes
}

// Totals returns the loops and coins completed since start.
func (t *Tally) Totals() (loops, coins int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.loops, t.coins
}
