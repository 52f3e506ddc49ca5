package rng

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// With one slot and a queue of 2, a fourth request finds the line full: it is
// answered 503 with Retry-After at once, not after the queue's wait; the three before
// it are all served, and once the line drains a request is served again.
func TestFullQueueAnswers503WithRetryAfterAtOnce(t *testing.T) {
	const delay = 300 * time.Millisecond
	srv := httptest.NewServer(NewServer(Config{Slots: 1, QueueMax: 2, Delay: delay}))
	defer srv.Close()
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i := range 3 { // one holds the slot, two wait
		wg.Go(func() { codes[i] = getStatus(t, srv.URL+"/8") })
		time.Sleep(30 * time.Millisecond) // in this order: the first holds, the next two queue
	}
	start := time.Now()
	resp, err := http.Get(srv.URL + "/8")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	took := time.Since(start)
	ra := resp.Header.Get("Retry-After")
	t.Logf("tried: 1 slot, queue 2, 3 requests in flight, then a 4th; got %d, Retry-After %q, in %s", resp.StatusCode, ra, took)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("4th request: %d, want 503", resp.StatusCode)
	}
	if s, err := strconv.Atoi(ra); err != nil || s < 1 {
		t.Fatalf("Retry-After %q, want whole seconds >= 1", ra)
	}
	if took > delay {
		t.Fatalf("the turned-away request took %s, longer than one hold (%s): it waited", took, delay)
	}
	wg.Wait()
	t.Logf("the three requests in line got %v", codes)
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("request %d in line got %d", i, c)
		}
	}
	if rec := get(t, NewServer(Config{Slots: 1, QueueMax: 2}), "GET", "/8"); rec.Code != http.StatusOK {
		t.Fatalf("after the drain: %d", rec.Code)
	}
}

// The greeting waits in the same line, so it is turned away the same way.
func TestFullQueueTurnsTheGreetingAwayToo(t *testing.T) {
	e := newEntropy(1, 1, time.Second)
	if !e.slots.TryAcquire(1) {
		t.Fatal("slot not free")
	}
	e.waiting.Add(1) // one already waiting
	srv := httptest.NewServer(handleHello(e, "box1"))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Logf("tried: GET / with the slot held and the queue of 1 full; got %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("got %d Retry-After %q, want 503 and 2 (one ahead, one hold of 1s)", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestLongestWait(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want time.Duration
	}{
		{Config{Slots: 1, QueueMax: 100, Delay: 100 * time.Millisecond}, 10100 * time.Millisecond},
		{Config{Slots: 3, QueueMax: 10, Delay: time.Second}, 5 * time.Second},
		{Config{Delay: time.Millisecond}, (DefaultQueueMax + 1) * time.Millisecond},
	} {
		if got := c.cfg.LongestWait(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.cfg, got, c.want)
		}
	}
}

// A request that finds the line full but a slot free takes that one slot, and gives
// it back when done: rng stays usable.
func TestFullLineWithAFreeSlotTakesOneSlot(t *testing.T) {
	e := newEntropy(1, 0, time.Millisecond) // no line at all: every request is "beyond" it
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := e.acquire(ctx)
		cancel()
		if err != nil {
			t.Fatalf("request %d, the slot free: %v", i, err)
		}
		e.slots.Release(1)
	}
	if !e.slots.TryAcquire(1) {
		t.Fatal("the slot is still taken after every request gave it back")
	}
}
