package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dockercoins/dockercoins"
	goredis "github.com/redis/go-redis/v9"
)

// Settle is how far behind now the speed is read: workers flush about once a second, so
// the last seconds' buckets are still filling.
const Settle = 2 * time.Second

// Window is how many settled seconds one speed reading averages.
const Window = 10

// Reader reads the web UI's dockercoins.Stats; Speed averages Window settled seconds.
type Reader struct {
	Client goredis.UniversalClient
	Now    func() time.Time // defaults to time.Now
}

// Read returns the counters and the speed series over the last points seconds.
func (r *Reader) Read(ctx context.Context, points int) (dockercoins.Stats, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	t := now()
	last := t.Add(-Settle).Unix()
	first := last - int64(points+Window-1) + 1
	keys := bucketKeys(first, last)
	pipe := r.Client.Pipeline()
	coins := pipe.HLen(ctx, dockercoins.WalletKey)
	hashes := pipe.Get(ctx, dockercoins.HashesKey)
	buckets := pipe.MGet(ctx, keys...)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return dockercoins.Stats{}, fmt.Errorf("read stats: %w", err)
	}
	st := dockercoins.Stats{Coins: coins.Val(), Now: float64(t.UnixNano()) / 1e9}
	if h, err := hashes.Int64(); err == nil {
		st.Hashes = h
	}
	st.Series = movingAverage(bucketCounts(buckets.Val()), Window)
	if len(st.Series) > 0 {
		st.Speed = st.Series[len(st.Series)-1]
	}
	return st, nil
}

// Buckets reads the loops counted in each second from first to last (unix seconds),
// oldest first; a second nobody counted in is 0. The workers write a second's bucket
// with their next flush, so the last Settle of seconds may still grow.
func (r *Reader) Buckets(ctx context.Context, first, last int64) ([]int64, error) {
	vals, err := r.Client.MGet(ctx, bucketKeys(first, last)...).Result()
	if err != nil {
		return nil, fmt.Errorf("read speed buckets: %w", err)
	}
	return bucketCounts(vals), nil
}

// bucketKeys are the keys of the per-second buckets from first to last.
func bucketKeys(first, last int64) []string {
	keys := make([]string, 0, max(last-first+1, 0))
	for s := first; s <= last; s++ {
		keys = append(keys, dockercoins.SpeedPrefix+strconv.FormatInt(s, 10))
	}
	return keys
}

// bucketCounts reads an MGET answer of buckets: a missing bucket is 0.
func bucketCounts(vals []any) []int64 {
	counts := make([]int64, len(vals))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			counts[i], _ = strconv.ParseInt(s, 10, 64)
		}
	}
	return counts
}

// movingAverage returns the mean of each run of w consecutive counts.
func movingAverage(counts []int64, w int) []float64 {
	if len(counts) < w {
		return nil
	}
	out := make([]float64, 0, len(counts)-w+1)
	var sum int64
	for i, c := range counts {
		sum += c
		if i >= w {
			sum -= counts[i-w]
		}
		if i >= w-1 {
			out = append(out, float64(sum)/float64(w))
		}
	}
	return out
}
