package lab

import (
	"context"
	"strings"
)

// placeholders are what the pinned Nomad and Jaeger builds, which carry no UI assets,
// answer in place of their UI.
var placeholders = []string{"Nomad UI is not available", "not the Jaeger UI you are looking for"}

// ServesUI reports whether url answers a real UI: not an error, not a placeholder page.
// It waits at most 2 s.
func ServesUI(ctx context.Context, url string) bool {
	body, err := get(ctx, url)
	if err != nil {
		return false
	}
	for _, p := range placeholders {
		if strings.Contains(body, p) {
			return false
		}
	}
	return true
}
