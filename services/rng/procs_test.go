package rng

import (
	"runtime"
	"testing"
)

// rng runs on as many Ps as it has slots, never more than it had, and leaves an
// explicit GOMAXPROCS alone.
func TestFitProcs(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(was)
	if was < 2 {
		runtime.GOMAXPROCS(2)
	}
	if got := fitProcs(1, ""); got != 1 {
		t.Errorf("1 slot: %d Ps, want 1", got)
	}
	runtime.GOMAXPROCS(2)
	if got := fitProcs(8, ""); got != 2 {
		t.Errorf("8 slots on 2 Ps: %d Ps, want 2", got)
	}
	if got := fitProcs(1, "2"); got != 2 {
		t.Errorf("GOMAXPROCS=2 given: %d Ps, want 2", got)
	}
}
