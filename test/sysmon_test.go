package test

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// TestServicesRestartInPlaceWithACalmSysmon checks that a service started as usual
// runs with platform.SysmonSetting in GODEBUG, in the process it was started as (the
// PID its supervisor holds) and under its own name, keeping the rest of GODEBUG; and
// that an operator's own schedtrace is left alone.
func TestServicesRestartInPlaceWithACalmSysmon(t *testing.T) {
	for _, c := range []struct {
		service, godebug, want string
	}{
		{"rng", "", platform.SysmonSetting},
		{"hasher", "GODEBUG=gctrace=0", "gctrace=0," + platform.SysmonSetting},
		{"webui", "GODEBUG=schedtrace=0", "schedtrace=0"},
	} {
		svc := testbed.StartService(t, c.service, c.godebug, "REDIS_ADDR=127.0.0.1:1")
		// StartService waited for "listening": the program there is the restarted one.
		environ, err := os.ReadFile("/proc/" + strconv.Itoa(svc.PID()) + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		got := "(none)"
		for kv := range strings.SplitSeq(string(environ), "\x00") {
			if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
				got = v
			}
		}
		if got != c.want {
			t.Errorf("%s started with %q runs with GODEBUG=%q, want %q", c.service, c.godebug, got, c.want)
		}
		// ps, top and pkill name a process after the path it executed.
		if comm := testbed.Comm(svc.PID()); comm != c.service {
			t.Errorf("%s runs under the name %q, want %q", c.service, comm, c.service)
		}
		resp, err := http.Get(svc.URL() + dockercoins.HealthPath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: health answered %s", c.service, resp.Status)
		}
		if err := svc.Stop(10 * time.Second); err != nil {
			t.Errorf("%s did not stop cleanly on SIGTERM after its restart: %v", c.service, err)
		}
	}
}
