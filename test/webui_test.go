package test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dockercoins/dockercoins/test/testbed"
)

// The page, in a real browser, draws the graph and shows a speed that matches the
// workers running: two workers at a 300 ms loop mine about 6.7 hashes/s.
func TestWebUIDrawsTheSpeedInABrowser(t *testing.T) {
	a := &app{redis: testbed.StartRedis(t)}
	a.rng = testbed.StartService(t, "rng", "RNG_DELAY=100ms")
	a.hasher = testbed.StartService(t, "hasher", "HASHER_DELAY=100ms")
	for range 2 {
		a.worker(t, "WORKER_PAUSE=100ms", "WORKER_FLUSH_EVERY=1s")
	}
	webui := testbed.StartService(t, "webui", "REDIS_ADDR="+a.redis.Addr, "REDIS_PASSWORD="+a.redis.Password)
	// The speed averages 10 settled seconds: wait until they are all mined.
	time.Sleep(14 * time.Second)

	ctx, cancel := context.WithTimeout(testbed.Browser(t), time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(webui.URL())); err != nil {
		t.Fatal(err)
	}
	// app.js sets data-points once it has drawn a series.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("graph").dataset.points !== undefined`,
		chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("graph never drawn: %v", err)
	}
	speed, err := chromedp.Run(ctx, chromedp.Text("#speed"))
	if err != nil {
		t.Fatal(err)
	}
	hashes, _ := chromedp.Run(ctx, chromedp.Text("#hashes"))
	attr, _ := chromedp.Run(ctx, chromedp.AttributeValue("#graph", "data-points"))
	points := attr.Value
	v, err := strconv.ParseFloat(speed, 64)
	if err != nil {
		t.Fatalf("speed shows %q", speed)
	}
	if v < 5.5 || v > 7.2 {
		t.Fatalf("page shows %.1f hashes/s for two workers; the model says 6.7", v)
	}
	if n, _ := strconv.Atoi(points); n < 2 {
		t.Fatalf("graph drew %q points", points)
	}
	if n, _ := strconv.Atoi(hashes); n == 0 {
		t.Fatalf("page shows %q hashes", hashes)
	}
	t.Logf("page: %s hashes/s, %s hashes, %s points drawn", speed, hashes, points)

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(80))
	if err != nil || len(shot) < 1000 {
		t.Fatalf("screenshot: %d bytes, %v", len(shot), err)
	}
	if dir := os.Getenv("SCREENSHOT_DIR"); dir != "" { // to look at the page by eye
		os.WriteFile(filepath.Join(dir, "webui.jpg"), shot, 0o644)
	}
}
