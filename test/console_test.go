package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// The trainer's console on the stack of `make up` with 8 workers and 1 rng, in a real
// browser: the slowest loop's waterfall shows rng's wait for its entropy slot as the
// longest span and the page names rng; +/- scale rng to 3 through Nomad and the speed
// rises; a web UI without the setting offers no control and its endpoint refuses; with
// Nomad or Jaeger gone, or a Consul token that hides the services, each panel says so
// and the speed goes on.
func TestConsole(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dev, s := upInNamespace(ctx, t, lab.App{Tracing: true, Vars: nomad.Vars{
		"worker_count": "8", "webui_scaling": "true", "min_healthy_time": "2s"}})
	page := "http://" + dev.Node.IP + ":8000"
	b := testbed.Browser(t)
	bctx, bcancel := context.WithTimeout(b, 7*time.Minute)
	defer bcancel()
	// The speed averages 10 settled seconds, and the loop list leaves out the last 3.
	time.Sleep(15 * time.Second)
	if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}

	t.Run("the slowest loop waits for rng", func(t *testing.T) {
		evalUntil(t, bctx, 30*time.Second, "loops listed", `document.querySelectorAll("#loops button").length >= 2`)
		id := eval[string](t, bctx, `document.querySelector("#loops button").dataset.id`)
		eval[bool](t, bctx, `document.querySelector("#loops button").click(), true`)
		evalUntil(t, bctx, 15*time.Second, "the waterfall of "+id, fmt.Sprintf(`document.getElementById("waterfall").dataset.trace === %q`, id))
		longest := eval[string](t, bctx, `document.getElementById("waterfall").dataset.longest + " in " + document.getElementById("waterfall").dataset.longestService`)
		if longest != "wait for entropy slot in rng" {
			t.Errorf("the slowest loop's longest span is %q, want rng's wait for the entropy slot", longest)
		}
		bars := eval[int](t, bctx, `document.querySelectorAll("#waterfall rect.bar").length`)
		services := eval[string](t, bctx, `[...new Set([...document.querySelectorAll("#waterfall g")].map(g => g.dataset.service))].sort().join(",")`)
		if !strings.Contains(services, "hasher") || !strings.Contains(services, "rng") || !strings.Contains(services, "worker") {
			t.Errorf("the waterfall draws spans of %q, want worker, rng and hasher", services)
		}
		loopVerdict := eval[string](t, bctx, `document.getElementById("loop-verdict").textContent`)
		evalUntil(t, bctx, 20*time.Second, "the bottleneck panel's verdict", `document.getElementById("verdict").textContent.startsWith("bottleneck")`)
		verdict := eval[string](t, bctx, `document.getElementById("verdict").textContent`)
		if !strings.Contains(loopVerdict, "rng is the bottleneck") || !strings.HasPrefix(verdict, "bottleneck: rng") {
			t.Errorf("the page does not name rng:\n loop: %s\n panel: %s", loopVerdict, verdict)
		}
		evalUntil(t, bctx, 20*time.Second, "the flush trace", `document.querySelectorAll("#flush rect.bar").length > 0`)
		eval[bool](t, bctx, `document.querySelector("#waterfall g[data-name='wait for entropy slot'] rect").dispatchEvent(new MouseEvent("click")), true`)
		info := eval[string](t, bctx, `document.getElementById("span-info").textContent`)
		if !strings.Contains(info, "service.instance.id") {
			t.Errorf("clicking the span shows %q, not its attributes", info)
		}
		t.Logf("%d spans; %s; %s", bars, loopVerdict, verdict)
		testbed.Screenshot(t, bctx, "console-8-workers-1-rng.png")
	})

	t.Run("scale rng to 3 from the page", func(t *testing.T) {
		evalUntil(t, bctx, 20*time.Second, "rng drawn with its controls", `!!document.querySelector("[data-group=rng] button.plus")`)
		before := speedShown(t, bctx)
		for want := 2; want <= 3; want++ {
			// Nomad refuses a scale while the last one still rolls out: the page says so,
			// and the trainer clicks again.
			testbed.Eventually(t, 60*time.Second, "rng scaled to %d from the page", func() bool {
				counts, _, err := dev.Nomad.Counts("dockercoins")
				if err == nil && counts["rng"] >= want {
					return true
				}
				eval[bool](t, bctx, `document.querySelector("[data-group=rng] button.plus").click(), true`)
				time.Sleep(2 * time.Second)
				return false
			}, want)
			evalUntil(t, bctx, 60*time.Second, fmt.Sprintf("%d passing rng instances drawn", want),
				fmt.Sprintf(`document.querySelector("[data-group=rng]").dataset.passing === "%d"`, want))
		}
		nodes := eval[int](t, bctx, `document.querySelectorAll("[data-group=rng] .chip").length`)
		if nodes != 3 {
			t.Errorf("%d rng instances drawn, want 3", nodes)
		}
		// 8 workers at a 300 ms loop mine at most 26.7 hashes/s; one rng allows 10.
		var after float64
		testbed.Eventually(t, 60*time.Second, "the speed drawn to rise from %.1f", func() bool {
			after = speedShown(t, bctx)
			return after > 1.6*before
		}, before)
		t.Logf("speed drawn: %.1f hashes/s with 1 rng, %.1f with 3 (model: 10 and 26.7; 2 shared cores)", before, after)
		testbed.Screenshot(t, bctx, "console-3-rng.png")
	})

	// Two more web UIs against the same stack, in the test's own namespace: one without
	// the setting, one whose Nomad is gone (an address nothing answers). They hold the
	// stack's Redis password and no Consul token: the anonymous token reads the catalog.
	extra := func(t *testing.T, env ...string) string {
		w := testbed.StartService(t, "webui", append([]string{"CONSUL_DNS_ADDR=" + dev.ConsulDNS,
			"REDIS_PASSWORD=" + redisPassword(t, s.Nomad),
			"CONSUL_HTTP_ADDR=" + dev.Node.IP + ":8500", "JAEGER_QUERY_URL=http://" + dev.Node.IP + ":16686"}, env...)...)
		return w.URL()
	}

	t.Run("no scaling without the setting", func(t *testing.T) {
		url := extra(t, "NOMAD_ADDR="+s.NomadAddr)
		if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		evalUntil(t, bctx, 20*time.Second, "rng drawn", `document.querySelector("[data-group=rng]")?.dataset.instances === "3"`)
		if n := eval[int](t, bctx, `document.querySelectorAll(".scale button").length`); n != 0 {
			t.Errorf("%d scale controls drawn with scaling off", n)
		}
		resp, err := http.Post(url+"/scale", "application/json", strings.NewReader(`{"group":"rng","delta":1}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body.Error, "WEBUI_SCALING") {
			t.Errorf("scale with the setting off: %d %q, want 403 naming the setting", resp.StatusCode, body.Error)
		}
	})

	t.Run("Nomad down", func(t *testing.T) {
		url := extra(t, "NOMAD_ADDR=http://127.0.0.1:"+strconv.Itoa(testbed.FreePort(t)), "WEBUI_SCALING=true")
		if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		evalUntil(t, bctx, 20*time.Second, "the panel to say Nomad is missing", `document.getElementById("where-missing").textContent.includes("Nomad")`)
		evalUntil(t, bctx, 20*time.Second, "rng drawn from Consul alone", `document.querySelector("[data-group=rng]")?.dataset.passing === "3"`)
		speedGoesOn(t, bctx)
		testbed.Screenshot(t, bctx, "console-nomad-down.png")
	})

	t.Run("a Consul token that hides the services", func(t *testing.T) {
		token, err := s.ConsulACL.Token("console test: reads redis only", "console-test-redis-only", `service "redis" { policy = "read" }`)
		if err != nil {
			t.Fatal(err)
		}
		url := extra(t, "NOMAD_ADDR="+s.NomadAddr, "CONSUL_HTTP_TOKEN="+token)
		if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		// Consul leaves out what the token may not read; the page says so rather than
		// drawing running instances as unregistered.
		evalUntil(t, bctx, 20*time.Second, "the panel to say the token hides instances",
			`document.getElementById("where-missing").textContent.includes("Consul token may not read")`)
		speedGoesOn(t, bctx)
	})

	t.Run("Jaeger down", func(t *testing.T) {
		if err := s.Nomad.Stop(ctx, "jaeger"); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
			t.Fatal(err)
		}
		evalUntil(t, bctx, 30*time.Second, "the traces panel to say Jaeger is missing", `document.getElementById("traces-missing").textContent.includes("Jaeger does not answer")`)
		evalUntil(t, bctx, 10*time.Second, "the bottleneck panel to say so too", `document.getElementById("verdict").textContent.includes("Jaeger does not answer")`)
		evalUntil(t, bctx, 20*time.Second, "where it runs drawn", `document.querySelector("[data-group=worker]")?.dataset.instances === "8"`)
		speedGoesOn(t, bctx)
		testbed.Screenshot(t, bctx, "console-jaeger-down.png")
	})
}

// eval evaluates js in the page, failing the test on an error.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := testbed.Eval[T](ctx, js)
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// evalUntil waits until the JavaScript condition js holds in the page.
func evalUntil(t *testing.T, ctx context.Context, d time.Duration, what, js string) {
	t.Helper()
	testbed.Eventually(t, d, "%s (%s)", func() bool {
		ok, err := testbed.Eval[bool](ctx, js)
		return err == nil && ok
	}, what, js)
}

// speedShown is the hashes/s the page shows.
func speedShown(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(eval[string](t, ctx, `document.getElementById("speed").textContent`), 64)
	if err != nil {
		t.Fatalf("speed shows no number: %v", err)
	}
	return v
}

// speedGoesOn checks that the page keeps reading the counters: the total shown grows.
func speedGoesOn(t *testing.T, ctx context.Context) {
	t.Helper()
	evalUntil(t, ctx, 10*time.Second, "a total shown", `Number(document.getElementById("hashes").textContent) > 0`)
	first := eval[string](t, ctx, `document.getElementById("hashes").textContent`)
	evalUntil(t, ctx, 10*time.Second, "the total shown to grow from "+first,
		fmt.Sprintf(`Number(document.getElementById("hashes").textContent) > %s`, first))
	if shown := eval[bool](t, ctx, `document.getElementById("error").hidden`); !shown {
		t.Errorf("the speed panel shows an error: %s", eval[string](t, ctx, `document.getElementById("error").textContent`))
	}
}

// On the 3-client lab of `make cluster` the page draws every instance under the node
// Nomad placed it on, and follows a node going down.
func TestConsoleOnACluster(t *testing.T) {
	cl := testbed.StartNomadCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	vars := lab.QuickVars()
	vars["worker_count"], vars["rng_count"], vars["webui_scaling"] = "6", "3", "true"
	app := lab.App{Root: testbed.Root(), BinDir: filepath.Dir(testbed.Binary(t, "worker")), Tools: testbed.Tools(t),
		Jobs: []string{"redis", "dockercoins"}, Pin: map[string]string{"redis": "n1"}, Vars: vars}
	if err := lab.Deploy(ctx, cl.Stack, app); err != nil {
		t.Fatal(err)
	}
	webuis := waitRunning(t, cl.Nomad, "webui", 1)
	page := "http://" + webuis[0].Addrs["http"]
	b := testbed.Browser(t)
	bctx, bcancel := context.WithTimeout(b, 3*time.Minute)
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}

	// drawn maps each allocation's short ID to the node the page draws it under.
	drawn := func(group string) map[string]string {
		js := fmt.Sprintf(`JSON.stringify(Object.fromEntries([...document.querySelectorAll("[data-group=%s] .node")].flatMap(
			n => [...n.querySelectorAll(".chip b")].map(b => [b.textContent, n.dataset.node]))))`, group)
		var m map[string]string
		json.Unmarshal([]byte(eval[string](t, bctx, js)), &m)
		return m
	}
	check := func(group string, n int) {
		t.Helper()
		allocs := waitRunning(t, cl.Nomad, group, n)
		var got map[string]string
		testbed.Eventually(t, 20*time.Second, "the page to draw %d %s instances on their nodes", func() bool {
			got = drawn(group)
			if len(got) != n {
				return false
			}
			for _, a := range allocs {
				if got[a.ID[:8]] != a.Node {
					return false
				}
			}
			return true
		}, n, group)
		t.Logf("%s: %v", group, got)
	}
	check("rng", 3)
	check("worker", 6)
	nodes := eval[string](t, bctx, `[...new Set([...document.querySelectorAll("[data-group=worker] .node")].map(n => n.dataset.node))].sort().join(",")`)
	if nodes != "n1,n2,n3" {
		t.Errorf("workers drawn on nodes %q, want spread over n1,n2,n3", nodes)
	}
	testbed.Screenshot(t, bctx, "console-cluster.png")

	// A node other than the web UI's and Redis's goes down: its instances turn critical
	// (Consul) and their replacements appear on the others (Nomad).
	down := "n2"
	if webuis[0].Node == down {
		down = "n3"
	}
	cl.ShutDown(t, down, 10*time.Second)
	evalUntil(t, bctx, 60*time.Second, "the page to show "+down+"'s instances critical",
		fmt.Sprintf(`[...document.querySelectorAll("[data-group=rng] .node[data-node=%s] .chip")].every(c => c.dataset.health !== "passing")`, down))
	evalUntil(t, bctx, 120*time.Second, "3 passing rng instances again, off "+down,
		`document.querySelector("[data-group=rng]").dataset.passing === "3"`)
	testbed.Screenshot(t, bctx, "console-cluster-node-down.png")
}

// `make up` and `make status` list a UI only when it serves one: the pinned Jaeger's
// placeholder page is left out, the web UI is not.
func TestServesUITellsAPlaceholder(t *testing.T) {
	j := testbed.StartJaeger(t)
	webui := testbed.StartService(t, "webui", "REDIS_ADDR=127.0.0.1:1")
	ctx := context.Background()
	if lab.ServesUI(ctx, j.Query+"/") {
		t.Error("the pinned Jaeger's placeholder counted as a UI")
	}
	if !lab.ServesUI(ctx, webui.URL()+"/") {
		t.Error("the web UI did not count as a UI")
	}
	if lab.ServesUI(ctx, "http://127.0.0.1:"+strconv.Itoa(testbed.FreePort(t))+"/") {
		t.Error("nothing listening counted as a UI")
	}
}
