package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Folders of ended test processes go; those of running ones, and folders not named by
// a PID, stay.
func TestOrphanBinariesAreRemoved(t *testing.T) {
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name string) string {
		dir := filepath.Join(os.TempDir(), name)
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	orphan := mk(binPrefix + strconv.Itoa(ended.Process.Pid) + "-1")
	running := mk(binPrefix + strconv.Itoa(os.Getpid()) + "-2")
	unnamed := mk(binPrefix + "4000000001")
	removeOrphanBinaries()
	if fileExists(orphan) {
		t.Errorf("%s, of an ended process, is still there", orphan)
	}
	for _, dir := range []string{running, unnamed} {
		if !fileExists(dir) {
			t.Errorf("%s was removed", dir)
		}
	}
}
