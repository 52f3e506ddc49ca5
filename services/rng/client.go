package rng

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/peer"
)

// Client calls rng as the original worker does: GET /<n>, answered with n bytes.
type Client struct {
	Caller peer.Caller // reaches some rng instance
}

var _ dockercoins.RandomSource = (*Client)(nil)

// Random asks rng for n random bytes.
func (c *Client) Random(ctx context.Context, n int) ([]byte, error) {
	if n < 1 || n > MaxCount {
		return nil, fmt.Errorf("rng: byte count must be 1 to %d, got %d", MaxCount, n)
	}
	b, err := c.Caller.Do(ctx, peer.Request{Method: http.MethodGet, Path: "/" + strconv.Itoa(n)})
	if err != nil {
		return nil, err
	}
	if len(b) != n {
		return nil, fmt.Errorf("rng answered %d bytes, asked for %d", len(b), n)
	}
	return b, nil
}
