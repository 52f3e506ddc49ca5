package poll

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUntilReturnsOnceDone(t *testing.T) {
	n := 0
	err := Until(context.Background(), "three checks", time.Millisecond, func() (bool, string, error) {
		n++
		return n == 3, "", nil
	})
	if err != nil || n != 3 {
		t.Fatalf("err %v after %d checks, want nil after 3", err, n)
	}
}

func TestUntilStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	err := Until(context.Background(), "x", time.Millisecond, func() (bool, string, error) { n++; return false, "", boom })
	if !errors.Is(err, boom) || n != 1 {
		t.Fatalf("err %v after %d checks, want boom after 1", err, n)
	}
}

func TestUntilNamesWhatAndTheLastStateOnTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := Until(ctx, "the agent", 5*time.Millisecond, func() (bool, string, error) { return false, "2 of 3 ready", nil })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "the agent") || !strings.Contains(err.Error(), "2 of 3 ready") {
		t.Fatalf("got %v", err)
	}
}

func TestWithin(t *testing.T) {
	start := time.Now()
	if !Within(context.Background(), time.Second, time.Millisecond, func() bool { return time.Since(start) > 10*time.Millisecond }) {
		t.Fatal("a condition that comes to hold was reported as never holding")
	}
	if Within(context.Background(), 20*time.Millisecond, time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never holds was reported as holding")
	}
}
