package platform

import (
	"context"
	"io"
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

func TestGOGCBelowOneIsRefused(t *testing.T) {
	for _, v := range []string{"0", "-1", "off"} {
		_, err := startWith(t, map[string]string{"GOGC": v})
		if err == nil || !strings.Contains(err.Error(), "GOGC") {
			t.Errorf("GOGC=%s: %v, want an error naming GOGC", v, err)
		}
	}
}
