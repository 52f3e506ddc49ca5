// Package testbed starts the real parts DockerCoins runs on (Redis, Consul, Nomad,
// Jaeger and the project's own services) for tests, on free loopback ports, and stops
// them when the test ends.
package testbed

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// FreePorts returns n distinct loopback TCP ports that were free a moment ago. They
// are held open together while chosen: ports chosen one after another can repeat.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// Root is the repository's top folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Tool finds a pinned tool (consul, nomad, jaeger) as provided by `make tools`, or
// another binary on PATH.
func Tool(t testing.TB, name string) string {
	t.Helper()
	cache := os.Getenv("DOCKERCOINS_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "dockercoins")
	}
	if p := filepath.Join(cache, "bin", name); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s not found: run `make tools` (or install it) first", name)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binPrefix names the folders test processes build the services into; the number
// after it is the process's PID.
const binPrefix = "dockercoins-bin-"

// Binary returns the path of a service binary ("rng", "hasher", "worker", "webui"),
// built once per test process.
func Binary(t testing.TB, service string) string {
	t.Helper()
	buildOnce.Do(func() {
		removeOrphanBinaries()
		buildDir, buildErr = os.MkdirTemp("", binPrefix+strconv.Itoa(os.Getpid())+"-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", buildDir+"/", "./cmd/rng", "./cmd/hasher", "./cmd/worker", "./cmd/webui")
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as make build
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, service)
}

// removeOrphanBinaries removes the binary folders of test processes that have ended. A
// test binary has no hook at its end (TestMain belongs to each package), so each
// process sweeps up after those before it: every `go test` left 60 MB behind.
func removeOrphanBinaries() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binPrefix+"*"))
	for _, dir := range dirs {
		pid, _, named := strings.Cut(strings.TrimPrefix(filepath.Base(dir), binPrefix), "-")
		n, err := strconv.Atoi(pid)
		if !named || err != nil || n <= 0 || n > 1<<22 { // Linux's largest PID
			continue // not named by a PID
		}
		if err := syscall.Kill(n, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // still running
		}
		os.RemoveAll(dir)
	}
}
