package test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// TestUpMinesBeforeJaegerIsBuilt runs what make up runs on a machine where Jaeger is
// still to be built: the app mines without the jaeger job and the page says tracing is
// coming. Once the binary appears where the build puts it, the jaeger job runs in the
// exec chroot the agent was given before the binary existed, and the page's loop
// breakdown comes from its traces.
func TestUpMinesBeforeJaegerIsBuilt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dev := testbed.DevSpec(t)
	built, err := filepath.EvalSymlinks(dev.Dev.Tools.Jaeger)
	if err != nil {
		t.Fatal(err)
	}
	later := filepath.Join(t.TempDir(), "jaeger-build", "jaeger")
	dev.Dev.Tools.Jaeger = later
	app := lab.App{Tracing: true, Vars: appVars(t)}
	s, progress := upOn(ctx, t, dev, app)
	if !strings.Contains(progress, "jaeger once it is built") {
		t.Errorf("up did not say Jaeger comes later:\n%s", progress)
	}
	groups, err := lab.Status(s.Nomad)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.Job == "jaeger" {
			t.Errorf("the jaeger job runs before its binary exists: %+v", g)
		}
	}
	webui := "http://" + dev.Node.IP + ":8000"
	testbed.Eventually(t, 30*time.Second, "hashes on %s", func() bool { return webuiHashes(t, webui+"/json") > 0 }, webui)
	code, body, err := httpGet(webui + "/bottleneck")
	if err != nil || code != 503 || !strings.Contains(body, "tracing is coming") {
		t.Errorf("/bottleneck without Jaeger: %d %s %v, want 503 saying tracing is coming", code, body, err)
	}

	// The build finishes: the binary lands where the chroot names it.
	if err := os.MkdirAll(filepath.Dir(later), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(built, later); err != nil {
		t.Fatalf("standing in for the build: %v", err)
	}
	app.Root, app.Tools = testbed.Root(), dev.Dev.Tools
	app.Jobs, app.Driver = []string{"jaeger"}, s.Driver
	if err := lab.Deploy(ctx, s, app); err != nil {
		t.Fatalf("the jaeger job after the build: %v", err)
	}
	testbed.Eventually(t, 90*time.Second, "the loop breakdown from Jaeger's traces on %s/bottleneck", func() bool {
		code, body, err = httpGet(webui + "/bottleneck")
		return err == nil && code == 200 && strings.Contains(body, `"name":"rng"`)
	}, webui)
	t.Logf("after Jaeger came: %s", body)
}
