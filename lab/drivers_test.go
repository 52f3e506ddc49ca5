package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestChooseDriver(t *testing.T) {
	for _, c := range []struct {
		healthy []string
		images  bool
		want    string
	}{
		{[]string{Docker, Exec, RawExec}, true, Docker},
		{[]string{Docker, Exec}, false, Exec}, // docker without the images
		{[]string{Exec}, true, Exec},
		{[]string{Docker, RawExec}, false, RawExec},
		{[]string{RawExec}, false, RawExec},
	} {
		if got, err := ChooseDriver(c.healthy, c.images); err != nil || got != c.want {
			t.Errorf("ChooseDriver(%v, images %t) = %q, %v; want %q", c.healthy, c.images, got, err, c.want)
		}
	}
	if got, err := ChooseDriver([]string{Docker}, false); err == nil {
		t.Errorf("docker without images and nothing else: got %q, want an error", got)
	}
	if CheckDriver("qemu") == nil || CheckDriver("") != nil || CheckDriver(Exec) != nil {
		t.Error("CheckDriver accepts only docker, exec, raw_exec and empty")
	}
}

// The chroot holds each binary at ChrootBinDir under its own name (a link resolved to
// its target), and the libraries it loads at their own paths.
func TestDriverConfigChroot(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh to stand for a dynamically linked binary: %v", err)
	}
	dir := t.TempDir()
	if err := os.Symlink(sh, filepath.Join(dir, "rng")); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "drivers.hcl")
	if err := WriteDriverConfig(conf, false, Chroot{Bins: []string{dir}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(sh)
	for _, want := range []string{`"` + real + `" = "/opt/dockercoins/bin/rng"`, "enabled          = false", `denied_host_uids = "0"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("drivers.hcl lacks %s:\n%s", want, b)
		}
	}
	if libs, _ := sharedLibs(sh); len(libs) > 0 && !strings.Contains(string(b), `= "`+libs[0]+`"`) {
		t.Errorf("drivers.hcl lacks %s, which sh loads:\n%s", libs[0], b)
	}
	if err := WriteDriverConfig(conf, true, Chroot{Bins: []string{filepath.Join(dir, "missing")}}); err == nil {
		t.Error("a missing binary gave no error")
	}

	// A binary still being built is mapped by the path it will have, with no library.
	later := filepath.Join(dir, "later", "jaeger")
	if err := WriteDriverConfig(conf, false, Chroot{Later: []string{later}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(conf); !strings.Contains(string(b), `"`+later+`" = "/opt/dockercoins/bin/jaeger"`) {
		t.Errorf("drivers.hcl does not map the binary to come:\n%s", b)
	}
}
