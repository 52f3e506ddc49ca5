package lab

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// What a stopped Nomad client leaves mounted under its state folder (its tasks'
// tmpfs secrets/), StopAgents detaches, so the folder can be removed.
func TestStopAgentsUnmountsWhatTheClientLeft(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("mounting a tmpfs needs root, as the lab does")
	}
	state := t.TempDir()
	dirs := []string{filepath.Join(state, "data", "nomad", "alloc", "a 1", "secrets"), filepath.Join(state, "data", "nomad", "alloc", "a 1", "secrets", "inner")}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", d, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatalf("mount %s: %v", d, err)
		}
		if err := os.MkdirAll(filepath.Join(d, "inner"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := StopAgents(state); err != nil {
		t.Fatalf("StopAgents: %v", err)
	}
	if err := os.RemoveAll(state); err != nil {
		t.Fatalf("the state folder cannot be removed after StopAgents: %v", err)
	}
}
