package platform

import (
	"context"
	"io"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/dockercoins/dockercoins/internal/settings"
)

// startWith starts a platform from the worker's shared settings read from env, and
// returns the GC percent it left the runtime with.
func startWith(t *testing.T, env map[string]string) (int, error) {
	t.Helper()
	var c Settings
	s := settings.New("worker", io.Discard)
	c.Register(s, "worker", "127.0.0.1:0")
	if err := s.Parse(nil, func(k string) string { return env[k] }); err != nil {
		return 0, err
	}
	before := debug.SetGCPercent(100) // what the test process runs with, put back below
	debug.SetGCPercent(before)
	p, err := Start(context.Background(), c, io.Discard)
	if err != nil {
		return 0, err
	}
	p.Close(context.Background())
	return debug.SetGCPercent(before), nil // what Start set
}

func TestGOGCDefaultsToTheServicesOwn(t *testing.T) {
	got, err := startWith(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != DefaultGCPercent {
		t.Fatalf("GC percent %d, want %d", got, DefaultGCPercent)
	}
	if got, err = startWith(t, map[string]string{"GOGC": "120"}); err != nil || got != 120 {
		t.Fatalf("GOGC=120: GC percent %d, %v", got, err)
	}
}

// A traced service allocates twice as much a request, so it collects less often unless
// GOGC says otherwise; 0 asks for the mode's default.
func TestGOGCDefaultRisesWhileTracing(t *testing.T) {
	traced := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}
	if got, err := startWith(t, traced); err != nil || got != TracedGCPercent {
		t.Fatalf("tracing on: GC percent %d, %v; want %d", got, err, TracedGCPercent)
	}
	// GOMEMLIMIT is read by the runtime itself; one set beforehand must be kept.
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	debug.SetMemoryLimit(math.MaxInt64)
	startWith(t, traced)
	if got := debug.SetMemoryLimit(math.MaxInt64); got != TracedMemoryLimit {
		t.Errorf("tracing on: memory limit %d, want %d", got, TracedMemoryLimit)
	}
	startWith(t, nil)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("tracing off: memory limit %d, want none", got)
	}
	debug.SetMemoryLimit(64 << 20)
	startWith(t, traced)
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Errorf("tracing on, GOMEMLIMIT=64MiB: memory limit %d, want it kept", got)
	}
	traced["GOGC"] = "70"
	if got, err := startWith(t, traced); err != nil || got != 70 {
		t.Fatalf("tracing on, GOGC=70: GC percent %d, %v", got, err)
	}
	if got, err := startWith(t, map[string]string{"GOGC": "0"}); err != nil || got != DefaultGCPercent {
		t.Fatalf("GOGC=0: GC percent %d, %v; want %d", got, err, DefaultGCPercent)
	}
}

func TestGOGCBelowZeroIsRefused(t *testing.T) {
	for _, v := range []string{"-1", "off"} {
		_, err := startWith(t, map[string]string{"GOGC": v})
		if err == nil || !strings.Contains(err.Error(), "GOGC") {
			t.Errorf("GOGC=%s: %v, want an error naming GOGC", v, err)
		}
	}
}
