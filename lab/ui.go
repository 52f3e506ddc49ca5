package lab

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// placeholders are what the pinned Nomad and Jaeger builds, which carry no UI assets,
// answer in place of their UI.
var placeholders = []string{"Nomad UI is not available", "not the Jaeger UI you are looking for"}

// ServesUI reports whether url answers a real UI: not an error, not a placeholder page.
// It waits at most 2 s.
func ServesUI(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return false
	}
	for _, p := range placeholders {
		if strings.Contains(string(body), p) {
			return false
		}
	}
	return true
}
