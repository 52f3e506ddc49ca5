package test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/redis"
	"github.com/dockercoins/dockercoins/services/worker"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// killMidRun freezes hasher so that no loop can complete, reads the loops and coins
// the worker has completed (final, since none can be added now), kills the worker with
// SIGKILL while a loop waits on hasher, and lets hasher go on.
func killMidRun(t *testing.T, a *app, w *testbed.Service) (loops, coins, pending int64) {
	t.Helper()
	a.hasher.Signal(syscall.SIGSTOP)
	defer a.hasher.Signal(syscall.SIGCONT)
	time.Sleep(300 * time.Millisecond) // a reply already on its way is counted first
	st, err := worker.Status(context.Background(), nil, w.Addr)
	if err != nil {
		t.Fatal(err)
	}
	w.Kill()
	return st.Loops, st.Coins, st.Pending
}

// A worker with a data dir killed with SIGKILL, once mid-run and once during a Redis
// outage, loses nothing and counts nothing twice: the next process in the same
// folder replays its journal.
func TestJournalKeepsTheCountThroughSIGKILL(t *testing.T) {
	a := startApp(t)
	// Flushes 5 s apart leave many loops in the tally at any moment.
	env := []string{"WORKER_DATA_DIR=" + filepath.Join(t.TempDir(), "data"), "WORKER_LEASE=6s", "WORKER_FLUSH_EVERY=5s"}

	w := a.worker(t, env...)
	waitHashes(t, a.redis, 1)
	time.Sleep(2 * time.Second) // halfway to the next flush
	loops1, coins1, pending1 := killMidRun(t, a, w)
	t.Logf("run 1: killed with %d loops completed, %d of them unflushed", loops1, pending1)

	w = a.worker(t, env...)
	// A flush may have landed between the status read and the kill: at most pending1.
	if ev := w.WaitEvent(t, "journal replayed", 10*time.Second); int64(ev["loops"].(float64)) > pending1 || pending1 == 0 {
		t.Fatalf("run 2 replayed %v loops; run 1 left %d unflushed", ev["loops"], pending1)
	} else {
		t.Logf("run 2 replayed %v loops", ev["loops"])
	}
	testbed.Eventually(t, 20*time.Second, "run 1's loops in Redis", func() bool { return a.redis.Hashes() >= loops1 })
	a.redis.Stop()
	w.WaitEvent(t, "redis unavailable; keeping the count", 10*time.Second)
	before := loopsDone(t, w)
	testbed.Eventually(t, 20*time.Second, "the worker to mine 300 loops with Redis down", func() bool {
		return loopsDone(t, w) >= before+300
	})
	loops2, coins2, pending2 := killMidRun(t, a, w)
	t.Logf("run 2: killed during the outage with %d loops completed, %d unflushed", loops2, pending2)
	a.redis.Restart()

	w = a.worker(t, env...)
	ev := w.WaitEvent(t, "journal replayed", 10*time.Second)
	if int64(ev["loops"].(float64)) != pending2 || pending2 < 300 {
		t.Fatalf("run 3 replayed %v loops; run 2 left %d unflushed", ev["loops"], pending2)
	}
	testbed.Eventually(t, 20*time.Second, "run 2's loops in Redis", func() bool { return a.redis.Hashes() >= loops1+loops2 })
	w.Signal(syscall.SIGTERM)
	if err := w.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("run 3 exited with %v", err)
	}
	stop := w.Events("stopped")[0]
	loops3, coins3 := int64(stop["loops"].(float64)), int64(stop["coins"].(float64))
	if stop["anomalies"].(float64) != 0 || stop["kept_in_journal"].(float64) != 0 ||
		int64(stop["flushed"].(float64)) != loops3+pending2 {
		t.Fatalf("run 3 stopped with %v", stop)
	}

	loops, coins := loops1+loops2+loops3, coins1+coins2+coins3
	t.Logf("three runs, two ended by SIGKILL, completed %d+%d+%d = %d loops and found %d coins", loops1, loops2, loops3, loops, coins)
	a.redis.CheckCounted(t, loops, coins)
}

// A key the script would fail on makes it refuse the batch before any write; once the
// key is fixed, the retry applies the batch whole.
func TestLedgerRefusesABatchWithAKeyOfTheWrongType(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	ctx := context.Background()
	l := &redis.Ledger{Client: c, Worker: "w", Owner: "nonce", Lease: time.Minute}
	if _, err := l.Apply(ctx, dockercoins.Batch{Seq: 1, Hashes: 1, Seconds: map[int64]int64{99: 1}}); err != nil {
		t.Fatal(err)
	}
	b := dockercoins.Batch{Seq: 2, Hashes: 5, Coins: map[string][]byte{"0abc": {1}}, Seconds: map[int64]int64{100: 2, 101: 3}}
	for _, bad := range []struct {
		key  string
		make func() error
	}{
		{dockercoins.HashesKey, func() error { return c.RPush(ctx, dockercoins.HashesKey, "x").Err() }},
		{dockercoins.WalletKey, func() error { return c.Set(ctx, dockercoins.WalletKey, "x", 0).Err() }},
		{dockercoins.SpeedPrefix + "101", func() error { return c.Set(ctx, dockercoins.SpeedPrefix+"101", "abc", 0).Err() }},
		{dockercoins.SpeedPrefix + "100", func() error { return c.SAdd(ctx, dockercoins.SpeedPrefix+"100", "x").Err() }},
	} {
		saved, _ := c.Dump(ctx, bad.key).Result()
		c.Del(ctx, bad.key)
		if err := bad.make(); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, srv, bad.key)
		_, err := l.Apply(ctx, b)
		if !errors.Is(err, dockercoins.ErrRejected) {
			t.Fatalf("with %s of the wrong type apply said %v, want a refusal", bad.key, err)
		}
		if after := snapshot(t, srv, bad.key); after != before {
			t.Fatalf("a refused batch wrote: before %v, after %v", before, after)
		}
		t.Logf("%s: %v", bad.key, err)
		c.Del(ctx, bad.key)
		if saved != "" {
			c.Restore(ctx, bad.key, 0, saved)
		}
	}
	fresh, err := l.Apply(ctx, b)
	if err != nil || !fresh {
		t.Fatalf("retry with the keys fixed: fresh=%v err=%v", fresh, err)
	}
	if srv.Hashes() != 6 || srv.Coins() != 1 || srv.Int(dockercoins.SpeedPrefix+"101") != 3 || srv.Int(dockercoins.AppliedPrefix+"w") != 2 {
		t.Fatalf("after the retry: hashes %d, coins %d, speed:101 %d, applied %d; want 6, 1, 3, 2",
			srv.Hashes(), srv.Coins(), srv.Int(dockercoins.SpeedPrefix+"101"), srv.Int(dockercoins.AppliedPrefix+"w"))
	}
	// Another process holding the identity's lease is refused too.
	other := &redis.Ledger{Client: c, Worker: "w", Owner: "other", Lease: time.Minute}
	if _, err := other.Apply(ctx, dockercoins.Batch{Seq: 3, Hashes: 1}); !errors.Is(err, dockercoins.ErrRejected) || srv.Hashes() != 6 {
		t.Fatalf("a second owner applied: err %v, hashes %d", err, srv.Hashes())
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if fresh, err := other.Apply(ctx, dockercoins.Batch{Seq: 3, Hashes: 1}); !fresh || err != nil {
		t.Fatalf("after the release: fresh=%v err=%v", fresh, err)
	}
}

// ledgerKeys is what the ledger's keys hold.
type ledgerKeys struct {
	hashes, applied, speed100, speed101, coins int64
}

// snapshot reads the ledger's keys, bad excepted (it was just made of the wrong type).
func snapshot(t *testing.T, srv *testbed.Redis, bad string) ledgerKeys {
	var k ledgerKeys
	if bad != dockercoins.HashesKey {
		k.hashes = srv.Hashes()
	}
	if bad != dockercoins.WalletKey {
		k.coins = srv.Coins()
	}
	k.applied = srv.Int(dockercoins.AppliedPrefix + "w")
	k.speed100 = srv.Int(dockercoins.SpeedPrefix + "100")
	k.speed101 = srv.Int(dockercoins.SpeedPrefix + "101")
	return k
}

// "Already applied" after the ledger refused a batch, with no lost reply in between,
// means someone else applied this identity's Seq: an anomaly, not a flush.
func TestLedgerAnomalyAfterARefusalIsNotFlushed(t *testing.T) {
	srv := testbed.StartRedis(t)
	c := srv.Client()
	defer c.Close()
	ctx := context.Background()
	log, out := testbed.NewLogger(t, "flusher")
	tally := &worker.Tally{}
	f := &worker.Flusher{Ledger: &redis.Ledger{Client: c, Worker: "w"}, Tally: tally, Every: time.Millisecond, Log: log}
	for range 3 {
		tally.Add("fff", nil, time.Now())
	}
	c.RPush(ctx, dockercoins.HashesKey, "x")
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if left := f.Drain(dctx); left != 3 {
		t.Fatalf("drain against a refusing ledger left %d, want 3", left)
	}
	c.Del(ctx, dockercoins.HashesKey)
	c.Set(ctx, dockercoins.AppliedPrefix+"w", 1, 0) // batch 1 "applied" by someone else
	if left := f.Drain(ctx); left != 0 {
		t.Fatalf("drain left %d", left)
	}
	if f.Anomalies() != 1 || f.Flushed() != 0 || srv.Hashes() != 0 {
		t.Fatalf("anomalies %d, flushed %d, hashes %d; want 1, 0, 0", f.Anomalies(), f.Flushed(), srv.Hashes())
	}
	if ev := out.Events("ledger anomaly: batch reported already applied, not counted as flushed"); len(ev) != 1 || ev[0]["why"] != "after the ledger refused it" {
		t.Fatalf("anomaly log %v", ev)
	}
}

// A worker whose identity's Seq Redis already holds (a copy of its data dir ran
// elsewhere) sees "already applied" on first attempts: it logs them, counts them in its
// status and at /metrics, and does not call them flushed.
func TestWorkerCountsAnAlreadyAppliedFirstAttemptAsAnAnomaly(t *testing.T) {
	a := startApp(t)
	dir := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "id"), []byte("copied-id\n"), 0o600)
	c := a.redis.Client()
	defer c.Close()
	c.Set(context.Background(), dockercoins.AppliedPrefix+"copied-id", 1_000_000, 0)

	w := a.worker(t, "WORKER_DATA_DIR="+dir)
	w.WaitEvent(t, "ledger anomaly: batch reported already applied, not counted as flushed", 10*time.Second)
	st, err := worker.Status(context.Background(), nil, w.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if st.Anomalies == 0 || st.Flushed != 0 || st.ID != "copied-id" {
		t.Fatalf("status %+v: want anomalies, nothing flushed, id copied-id", st)
	}
	if n, found, err := testbed.Metric(w.URL()+"/metrics", "worker_ledger_anomalies_total"); err != nil || !found || n == 0 {
		t.Fatalf("worker_ledger_anomalies_total = %v (found %v, err %v)", n, found, err)
	}
	if got := a.redis.Hashes(); got != 0 {
		t.Fatalf("redis counted %d hashes of batches it called already applied", got)
	}
}
