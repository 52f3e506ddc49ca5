package redis_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/redis"
	"github.com/dockercoins/dockercoins/test/testbed"
)

func TestApplyIsExactlyOnce(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	ctx := context.Background()
	l := &redis.Ledger{Client: c, Worker: "w1"}
	b := redis.Batch{Seq: 1, Hashes: 5, Coins: map[string][]byte{"0abc": {1, 2}}, Seconds: map[int64]int64{100: 2, 101: 3}}
	for i, want := range []bool{true, false} { // the second is a retry after a lost reply
		fresh, err := l.Apply(ctx, b)
		if err != nil || fresh != want {
			t.Fatalf("apply %d: fresh=%v err=%v, want fresh=%v", i, fresh, err, want)
		}
	}
	if _, err := l.Apply(ctx, redis.Batch{Seq: 2, Hashes: 1, Coins: map[string][]byte{"0abc": {9}}}); err != nil {
		t.Fatal(err)
	}
	// Another worker's sequence numbers are its own.
	if fresh, _ := (&redis.Ledger{Client: c, Worker: "w2"}).Apply(ctx, redis.Batch{Seq: 1, Hashes: 10}); !fresh {
		t.Fatal("w2's first batch was skipped")
	}
	if got := srv.Int("hashes"); got != 16 {
		t.Fatalf("hashes = %d, want 16", got)
	}
	if got := srv.HLen("wallet"); got != 1 {
		t.Fatalf("wallet has %d coins, want 1", got)
	}
	if v, _ := c.HGet(ctx, "wallet", "0abc").Bytes(); len(v) != 2 || v[0] != 1 {
		t.Fatalf("a coin found again replaced the first: %v", v)
	}
	if srv.Int("speed:101") != 3 {
		t.Fatalf("speed:101 = %d", srv.Int("speed:101"))
	}
}

// A steady 3.33 loops/s must read as 3.3 at every point: no 4-4-0 saw-tooth.
func TestSpeedIsSmoothAndExact(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	seconds := map[int64]int64{}
	for at := now.Add(-120 * time.Second); at.Before(now); at = at.Add(300 * time.Millisecond) {
		seconds[at.Unix()]++
	}
	if _, err := (&redis.Ledger{Client: c, Worker: "w"}).Apply(ctx, redis.Batch{Seq: 1, Hashes: 400, Seconds: seconds}); err != nil {
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

func TestReadFailsWhenRedisIsDown(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	srv.Stop()
	if _, err := (&redis.Reader{Client: c}).Read(context.Background(), 10); err == nil {
		t.Fatal("read from a stopped Redis succeeded")
	}
}
