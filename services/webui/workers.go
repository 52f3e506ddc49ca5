package webui

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/dockercoins/dockercoins"
)

// workerRates reads each worker's own status (GET / on the worker, its loops since it
// started) and turns the samples into loops per second over the last few seconds.
type workerRates struct {
	http   *http.Client
	window time.Duration

	mu      sync.Mutex
	samples map[string][]sample // by worker address
}

type sample struct {
	at    time.Time
	loops int64
}

func newWorkerRates() *workerRates {
	return &workerRates{http: &http.Client{Timeout: time.Second}, window: 10 * time.Second, samples: map[string][]sample{}}
}

// fill sets the loops per second of every worker instance that answers, all asked at
// once; one that does not answer is left without.
func (w *workerRates) fill(ctx context.Context, nodes []NodeGroup) {
	var wg sync.WaitGroup
	for i := range nodes {
		for j := range nodes[i].Instances {
			pl := &nodes[i].Instances[j]
			if pl.Addr == "" {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if loops, ok := w.status(ctx, pl.Addr); ok {
					pl.LoopsPerSec = w.add(pl.Addr, sample{time.Now(), loops})
				}
			}()
		}
	}
	wg.Wait()
	w.forget(nodes)
}

func (w *workerRates) status(ctx context.Context, addr string) (int64, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return 0, false
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var st dockercoins.WorkerStatus
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&st) != nil {
		return 0, false
	}
	return st.Loops, true
}

// add records a sample and returns the rate over the window, once there are two.
func (w *workerRates) add(addr string, s sample) *float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	ss := append(w.samples[addr], s)
	for len(ss) > 2 && s.at.Sub(ss[1].at) >= w.window {
		ss = ss[1:]
	}
	if len(ss) > 0 && s.loops < ss[0].loops { // a new process at the same address
		ss = []sample{s}
	}
	w.samples[addr] = ss
	dt := s.at.Sub(ss[0].at).Seconds()
	if dt < 0.5 {
		return nil
	}
	r := float64(s.loops-ss[0].loops) / dt
	return &r
}

// forget drops the samples of workers no longer listed.
func (w *workerRates) forget(nodes []NodeGroup) {
	listed := map[string]bool{}
	for _, n := range nodes {
		for _, pl := range n.Instances {
			listed[pl.Addr] = true
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for addr := range w.samples {
		if !listed[addr] {
			delete(w.samples, addr)
		}
	}
}
