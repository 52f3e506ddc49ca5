package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
)

// fakeLedger applies batches exactly once per sequence number, as the Redis ledger
// does, and can lose the replies of the first applies: it counts the batch, then
// reports a failure, as when the connection drops after Redis ran the script but
// before its answer arrived. With down set it refuses everything.
type fakeLedger struct {
	mu      sync.Mutex
	lose    int // how many replies to lose
	refuse  int // how many attempts to refuse, as the Redis script does for a key of the wrong type
	down    bool
	applied map[uint64]dockercoins.Batch
	calls   []uint64 // the Seq of every Apply
	hashes  int64
	wallet  map[string][]byte
}

func (l *fakeLedger) Apply(_ context.Context, b dockercoins.Batch) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, b.Seq)
	if l.down {
		return false, errors.New("connection refused")
	}
	if l.refuse > 0 {
		l.refuse--
		return false, fmt.Errorf("%w: WRONGTYPE", dockercoins.ErrRejected)
	}
	if l.applied == nil {
		l.applied, l.wallet = map[uint64]dockercoins.Batch{}, map[string][]byte{}
	}
	prev, seen := l.applied[b.Seq]
	if !seen {
		l.applied[b.Seq] = b
		l.hashes += b.Hashes
		for k, v := range b.Coins {
			if _, ok := l.wallet[k]; !ok {
				l.wallet[k] = v
			}
		}
	} else if prev.Hashes != b.Hashes || !maps.EqualFunc(prev.Coins, b.Coins, func(a, b []byte) bool { return string(a) == string(b) }) {
		return false, errors.New("a batch was sent again with the same Seq but other contents")
	}
	if l.lose > 0 {
		l.lose--
		return false, errors.New("connection reset by peer")
	}
	return !seen, nil
}

var _ dockercoins.Ledger = (*fakeLedger)(nil)

func TestRetriedBatchIsCountedOnce(t *testing.T) {
	ledger := &fakeLedger{lose: 2}
	tally := &Tally{}
	f := &Flusher{Ledger: ledger, Tally: tally, Every: time.Millisecond, Log: slog.New(slog.DiscardHandler)}
	now := time.Now()
	for i := range 10 {
		tally.Add("0coin"+string(rune('a'+i)), []byte{byte(i)}, now)
	}
	ctx := context.Background()
	for range 2 {
		if err := f.flushAll(ctx); err == nil {
			t.Fatal("a lost reply was not reported")
		}
		if f.Pending() != 10 {
			t.Fatalf("pending = %d while the batch is unacknowledged, want 10", f.Pending())
		}
	}
	for i := range 5 { // more loops complete while the first batch is retried
		tally.Add("fff"+string(rune('a'+i)), nil, now)
	}
	if lost := f.Drain(ctx); lost != 0 {
		t.Fatalf("drain lost %d", lost)
	}
	// The first batch went three times with one Seq, then the loops that came later
	// went in a batch of their own.
	if want := []uint64{1, 1, 1, 2}; !slices.Equal(ledger.calls, want) {
		t.Fatalf("applied batches %v, want %v", ledger.calls, want)
	}
	if ledger.hashes != 15 {
		t.Fatalf("hashes = %d after two lost replies, want 15", ledger.hashes)
	}
	if len(ledger.wallet) != 10 {
		t.Fatalf("wallet = %d, want 10", len(ledger.wallet))
	}
	if f.Flushed() != 15 || f.Pending() != 0 {
		t.Fatalf("flushed %d, pending %d", f.Flushed(), f.Pending())
	}
}

func TestDrainGivesUpAtItsDeadlineAndReportsTheLoss(t *testing.T) {
	ledger := &fakeLedger{down: true}
	tally := &Tally{}
	tally.Add("abc", nil, time.Now())
	tally.Add("0de", nil, time.Now())
	f := &Flusher{Ledger: ledger, Tally: tally, Every: time.Second, Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if lost := f.Drain(ctx); lost != 2 {
		t.Fatalf("drain with Redis down reported %d lost, want 2", lost)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("drain took %v past its 500ms deadline", took)
	}
	if len(ledger.calls) < 2 {
		t.Fatalf("drain tried %d times, want retries until its deadline", len(ledger.calls))
	}
}
