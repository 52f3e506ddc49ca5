package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/dockercoins/dockercoins"
)

// Status reads the status the worker at addr (host:port) serves at GET /, through c
// (nil: http.DefaultClient).
func Status(ctx context.Context, c *http.Client, addr string) (dockercoins.WorkerStatus, error) {
	var st dockercoins.WorkerStatus
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return st, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return st, fmt.Errorf("worker status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("worker status at %s: %s", addr, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("worker status at %s: %w", addr, err)
	}
	return st, nil
}
