package worker

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/redis"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// lostReply applies a batch for real, then reports a failure, as when the connection
// drops after Redis ran the script but before its answer arrived.
type lostReply struct {
	*redis.Ledger
	lose int // how many replies to lose
}

func (l *lostReply) Apply(ctx context.Context, b redis.Batch) (bool, error) {
	fresh, err := l.Ledger.Apply(ctx, b)
	if err == nil && l.lose > 0 {
		l.lose--
		return false, errors.New("connection reset by peer")
	}
	return fresh, err
}

func TestRetriedBatchIsCountedOnce(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	tally := &Tally{}
	f := &Flusher{Ledger: &lostReply{Ledger: &redis.Ledger{Client: c, Worker: "w"}, lose: 2},
		Tally: tally, Every: time.Millisecond, Log: slog.New(slog.DiscardHandler)}
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
	if got := srv.Int("hashes"); got != 15 {
		t.Fatalf("hashes = %d after two lost replies, want 15", got)
	}
	if got := srv.HLen("wallet"); got != 10 {
		t.Fatalf("wallet = %d, want 10", got)
	}
	if f.Flushed() != 15 || f.Pending() != 0 {
		t.Fatalf("flushed %d, pending %d", f.Flushed(), f.Pending())
	}
}

func TestDrainGivesUpAtItsDeadlineAndReportsTheLoss(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	srv.Stop()
	tally := &Tally{}
	tally.Add("abc", nil, time.Now())
	tally.Add("0de", nil, time.Now())
	f := &Flusher{Ledger: &redis.Ledger{Client: c, Worker: "w"}, Tally: tally, Every: time.Second, Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if lost := f.Drain(ctx); lost != 2 {
		t.Fatalf("drain with Redis down reported %d lost, want 2", lost)
	}
}

func TestCoinsStartWithZero(t *testing.T) {
	for hash, want := range map[string]bool{"0abc": true, "00": true, "a0": false, "": false, "f0": false} {
		if isCoin(hash) != want {
			t.Errorf("isCoin(%q) = %v", hash, !want)
		}
	}
}
