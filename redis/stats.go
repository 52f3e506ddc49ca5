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
	keys := make([]string, 0, last-first+1)
	for s := first; s <= last; s++ {
		keys = append(keys, dockercoins.SpeedPrefix+strconv.FormatInt(s, 10))
	}
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
	counts := make([]float64, len(keys))
	for i, v := range buckets.Val() {
		if s, ok := v.(string); ok {
			counts[i], _ = strconv.ParseFloat(s, 64)
		}
	}
	st.Series = movingAverage(counts, Window)
	if len(st.Series) > 0 {
		st.Speed = st.Series[len(st.Series)-1]
	}
	return st, nil
}

// movingAverage returns the mean of each run of w consecutive counts.
func movingAverage(counts []float64, w int) []float64 {
	if len(counts) < w {
		return nil
	}
	out := make([]float64, 0, len(counts)-w+1)
	var sum float64
	for i, c := range counts {
		sum += c
		if i >= w {
			sum -= counts[i-w]
		}
		if i >= w-1 {
			out = append(out, sum/float64(w))
		}
	}
	return out
}
