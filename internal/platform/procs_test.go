package platform

import (
	"runtime"
	"testing"
)

// A service runs on as many Ps as it asks for, never more than it had, and leaves an
// explicit GOMAXPROCS alone.
func TestFitProcs(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(was)
	if was < 2 {
		runtime.GOMAXPROCS(2)
	}
	if got := FitProcs(1, ""); got != 1 {
		t.Errorf("want 1: %d Ps, want 1", got)
	}
	runtime.GOMAXPROCS(2)
	if got := FitProcs(8, ""); got != 2 {
		t.Errorf("want 8 on 2 Ps: %d Ps, want 2", got)
	}
	if got := FitProcs(1, "2"); got != 2 {
		t.Errorf("GOMAXPROCS=2 given: %d Ps, want 2", got)
	}
}
