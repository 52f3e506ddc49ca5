package hasher

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/peer"
)

// Client calls hasher as the original worker does: POST / with the bytes as an
// application/octet-stream body, answered with the hex SHA-256.
type Client struct {
	Caller peer.Caller // reaches some hasher instance
}

var _ dockercoins.HashFunc = (*Client)(nil)

// Hash asks hasher for the hex SHA-256 of data.
func (c *Client) Hash(ctx context.Context, data []byte) (string, error) {
	if len(data) > MaxBody {
		return "", fmt.Errorf("hasher: body of %d bytes is over the %d-byte limit", len(data), MaxBody)
	}
	b, err := c.Caller.Do(ctx, peer.Request{Method: http.MethodPost, Path: "/", ContentType: dockercoins.HashContentType, Body: data})
	if err != nil {
		return "", err
	}
	if _, err := hex.DecodeString(string(b)); err != nil || len(b) != 64 {
		return "", fmt.Errorf("hasher answered %q, not a hex SHA-256", truncate(b, 80))
	}
	return string(b), nil
}

func truncate(b []byte, n int) []byte { return b[:min(len(b), n)] }
