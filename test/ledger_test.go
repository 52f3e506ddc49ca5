package test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/redis"
	"github.com/dockercoins/dockercoins/services/worker"
	"github.com/dockercoins/dockercoins/test/testbed"
)

func TestLedgerApplyIsExactlyOnce(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	ctx := context.Background()
	l := &redis.Ledger{Client: c, Worker: "w1"}
	b := dockercoins.Batch{Seq: 1, Hashes: 5, Coins: map[string][]byte{"0abc": {1, 2}}, Seconds: map[int64]int64{100: 2, 101: 3}}
	for i, want := range []bool{true, false} { // the second is a retry after a lost reply
		fresh, err := l.Apply(ctx, b)
		if err != nil || fresh != want {
			t.Fatalf("apply %d: fresh=%v err=%v, want fresh=%v", i, fresh, err, want)
		}
	}
	if _, err := l.Apply(ctx, dockercoins.Batch{Seq: 2, Hashes: 1, Coins: map[string][]byte{"0abc": {9}}}); err != nil {
		t.Fatal(err)
	}
	// Another worker's sequence numbers are its own.
	if fresh, _ := (&redis.Ledger{Client: c, Worker: "w2"}).Apply(ctx, dockercoins.Batch{Seq: 1, Hashes: 10}); !fresh {
		t.Fatal("w2's first batch was skipped")
	}
	if got := srv.Hashes(); got != 16 {
		t.Fatalf("hashes = %d, want 16", got)
	}
	if got := srv.Coins(); got != 1 {
		t.Fatalf("wallet has %d coins, want 1", got)
	}
	if v, _ := c.HGet(ctx, dockercoins.WalletKey, "0abc").Bytes(); len(v) != 2 || v[0] != 1 {
		t.Fatalf("a coin found again replaced the first: %v", v)
	}
	if srv.Int(dockercoins.SpeedPrefix+"101") != 3 {
		t.Fatalf("speed:101 = %d", srv.Int(dockercoins.SpeedPrefix+"101"))
	}
	// The web UI's reader sees what the ledger wrote.
	st, err := (&redis.Reader{Client: c}).Read(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if st.Coins != 1 || st.Hashes != 16 || st.Now < 1e9 || len(st.Series) != 5 {
		t.Fatalf("read coins=%d hashes=%d now=%v, %d points; want 1, 16, now, 5", st.Coins, st.Hashes, st.Now, len(st.Series))
	}
}

// A flusher whose replies get lost retries the batch it holds until Redis answers,
// and Redis counts it once.
func TestLedgerCountsARetriedBatchOnce(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	tally := &worker.Tally{}
	f := &worker.Flusher{Ledger: &lostReply{Ledger: &redis.Ledger{Client: c, Worker: "w"}, lose: 2},
		Tally: tally, Every: time.Millisecond, Log: slog.New(slog.DiscardHandler)}
	now := time.Now()
	for i := range 10 {
		tally.Add("0coin"+string(rune('a'+i)), []byte{byte(i)}, now)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if lost := f.Drain(ctx); lost != 0 {
		t.Fatalf("drain lost %d", lost)
	}
	for i := range 5 { // more loops, in a batch of their own
		tally.Add("fff"+string(rune('a'+i)), nil, now)
	}
	if lost := f.Drain(ctx); lost != 0 {
		t.Fatalf("drain lost %d", lost)
	}
	if got := srv.Int(dockercoins.HashesKey); got != 15 {
		t.Fatalf("hashes = %d after two lost replies, want 15", got)
	}
	if got := srv.HLen(dockercoins.WalletKey); got != 10 {
		t.Fatalf("wallet = %d, want 10", got)
	}
	if f.Flushed() != 15 || f.Pending() != 0 {
		t.Fatalf("flushed %d, pending %d", f.Flushed(), f.Pending())
	}
}

// lostReply applies a batch for real, then reports a failure, as when the connection
// drops after Redis ran the script but before its answer arrived.
type lostReply struct {
	*redis.Ledger
	lose int // how many replies to lose
}

func (l *lostReply) Apply(ctx context.Context, b dockercoins.Batch) (bool, error) {
	fresh, err := l.Ledger.Apply(ctx, b)
	if err == nil && l.lose > 0 {
		l.lose--
		return false, errors.New("connection reset by peer")
	}
	return fresh, err
}

// A steady 3.33 loops/s must read as 3.3 at every point: no 4-4-0 saw-tooth.
func TestLedgerSpeedIsSmoothAndExact(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	seconds := map[int64]int64{}
	for at := now.Add(-120 * time.Second); at.Before(now); at = at.Add(300 * time.Millisecond) {
		seconds[at.Unix()]++
	}
	if _, err := (&redis.Ledger{Client: c, Worker: "w"}).Apply(ctx, dockercoins.Batch{Seq: 1, Hashes: 400, Seconds: seconds}); err != nil {
		t.Fatal(err)
	}
	st, err := (&redis.Reader{Client: c, Now: func() time.Time { return now }}).Read(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Series) != 60 {
		t.Fatalf("series has %d points, want 60", len(st.Series))
	}
	for i, v := range st.Series {
		if math.Abs(v-10.0/3) > 0.07 {
			t.Fatalf("point %d is %.2f, want 3.33 ± 0.07 (series %v)", i, v, st.Series)
		}
	}
	if st.Hashes != 400 || st.Now != 1_000_000 {
		t.Fatalf("hashes=%d now=%v", st.Hashes, st.Now)
	}
}

func TestLedgerReadFailsWhenRedisIsDown(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	srv.Stop()
	if _, err := (&redis.Reader{Client: c}).Read(context.Background(), 10); err == nil {
		t.Fatal("read from a stopped Redis succeeded")
	}
}
