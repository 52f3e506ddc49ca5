package test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/services/worker"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// The worker program, run in the test against fake rng and hasher servers and a real
// Redis, measures its loops and its calls at /metrics, and its status agrees.
func TestWorkerMetricsCountLoops(t *testing.T) {
	rng := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte{7}, 32))
	}))
	defer rng.Close()
	hasher := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		io.WriteString(w, hex.EncodeToString(sum[:]))
	}))
	defer hasher.Close()
	redis := testbed.StartRedis(t)
	env := map[string]string{
		"ADDR": "127.0.0.1:0", "LOG_FORMAT": "json", "WORKER_PAUSE": "1ms", "WORKER_FLUSH_EVERY": "100ms",
		"RNG_ADDR": rng.URL, "HASHER_ADDR": hasher.URL, "REDIS_ADDR": redis.Addr, "REDIS_PASSWORD": redis.Password,
	}
	out := &testbed.Log{Name: "worker"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(ctx, nil, func(k string) string { return env[k] }, out) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	}()

	addr := out.WaitEvent(t, "listening", 10*time.Second)["addr"].(string)
	metrics := "http://" + addr + "/metrics"
	read := func(name string) float64 {
		t.Helper()
		v, found, err := testbed.Metric(metrics, name)
		if err != nil || !found {
			t.Fatalf("%s in /metrics: found=%v err=%v", name, found, err)
		}
		return v
	}
	first := read("worker_loops_total")
	testbed.Eventually(t, 10*time.Second, "worker_loops_total to grow past %v", func() bool {
		return read("worker_loops_total") >= first+20
	}, first)
	if n := read("worker_loop_duration_seconds_count"); n < 20 {
		t.Errorf("loop duration histogram holds %v loops", n)
	}
	read("worker_coins_total")
	if n := read("worker_loop_failures_total"); n != 0 {
		t.Errorf("%v failed loops", n)
	}
	// Its calls to rng and hasher are measured too.
	if n := read("http_client_request_duration_seconds_count"); n < 40 {
		t.Errorf("client request histogram holds %v requests", n)
	}
	// The status and the metric count the same loops.
	loopsNow := read("worker_loops_total")
	loops, err := testbed.WorkerLoops(http.DefaultClient, addr)
	if err != nil {
		t.Fatal(err)
	}
	if float64(loops) < loopsNow {
		t.Errorf("status says %d loops, metric said %v before", loops, loopsNow)
	}
}
