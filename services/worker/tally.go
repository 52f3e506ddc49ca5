package worker

import (
	"sync"
	"time"

	"github.com/dockercoins/dockercoins"
)

// Tally holds the loops a worker completed that Redis has not been told of yet.
// The zero value is ready to use. With a journal (see Resume) every change is also
// recorded there, under the same lock, so the journal's order is the tally's.
type Tally struct {
	mu      sync.Mutex
	pending dockercoins.Batch
	loops   int64 // completed since start, flushed or not
	coins   int64
	seq     uint64 // of the last batch taken
	journal *Journal
}

// Resume continues from what a journal held: its loops not yet in a batch become
// pending, and batches go on from its last sequence number. From then on the tally
// records into j. The loops resumed are not counted as completed by this process.
func (t *Tally) Resume(j *Journal, st JournalState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.journal, t.seq, t.pending = j, st.Seq, st.Pending
}

// Add records one completed loop, which produced hash from bytes at time at. It
// returns the sequence number of the batch the loop will reach Redis in, which a
// trace of the loop records to lead to the flush that counted it.
func (t *Tally) Add(hash string, bytes []byte, at time.Time) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.loops++
	var coin []string
	if dockercoins.IsCoin(hash) {
		t.coins++
		coin = []string{hash}
	}
	addLoop(&t.pending, at.Unix(), coin, bytes)
	if t.journal != nil {
		t.journal.loop(at.Unix(), hash, bytes)
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
		if t.journal != nil {
			t.journal.take(b.Seq)
		}
	}
	return b
}

// compact rewrites the journal as a snapshot once it is due; the caller has every
// batch taken acknowledged, so only the pending loops remain.
func (t *Tally) compact() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.journal == nil || !t.journal.due() {
		return nil
	}
	return t.journal.rewrite(JournalState{Seq: t.seq, Pending: t.pending})
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
