package testbed

import (
	"context"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/internal/poll"
)

// Poll is how often Within and Eventually check their condition.
const Poll = 50 * time.Millisecond

// Within checks cond every Poll for up to d and reports whether it came to hold: the
// project's one polling loop (poll.Within) at the tests' pace. Eventually is it,
// failing the test.
func Within(d time.Duration, cond func() bool) bool {
	return poll.Within(context.Background(), d, Poll, cond)
}

// Eventually checks cond every Poll for up to d, failing the test with the formatted
// what if it never holds.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool, args ...any) {
	t.Helper()
	if !Within(d, cond) {
		t.Fatalf("timed out after %s waiting for "+what, append([]any{d}, args...)...)
	}
}
