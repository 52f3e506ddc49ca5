package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
)

var quiet = slog.New(slog.DiscardHandler)

// journaled is what Run builds around a data dir: a tally and a flusher that resume from
// its journal.
type journaled struct {
	journal *Journal
	tally   *Tally
	flusher *Flusher
	state   JournalState
}

func openJournaled(t *testing.T, path string, ledger dockercoins.Ledger) *journaled {
	t.Helper()
	j, st, err := OpenJournal(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	w := &journaled{journal: j, tally: &Tally{}, state: st}
	w.tally.Resume(j, st)
	w.flusher = &Flusher{Ledger: ledger, Tally: w.tally, Every: time.Millisecond, Log: quiet, Journal: j}
	w.flusher.Replay(st.Batches)
	return w
}

// mine adds n loops, every fourth a coin named after i.
func (w *journaled) mine(from, n int) {
	for i := from; i < from+n; i++ {
		hash := fmt.Sprintf("f%03d", i)
		if i%4 == 0 {
			hash = fmt.Sprintf("0%03d", i)
		}
		w.tally.Add(hash, []byte{byte(i)}, time.Unix(int64(1000+i/3), 0))
	}
}

// A process killed with a batch in flight (one applied, its reply lost) and loops in
// its tally: the next one replays both, and the ledger counts every loop once.
func TestJournalReplaysWhatRedisDidNotAcknowledge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	ledger := &fakeLedger{}
	w := openJournaled(t, path, ledger)
	w.mine(0, 10)
	if err := w.flusher.flushAll(context.Background()); err != nil { // batch 1, acknowledged
		t.Fatal(err)
	}
	w.mine(10, 7)
	ledger.lose = 1 // batch 2 lands, its reply is lost, and the process dies
	if err := w.flusher.flushAll(context.Background()); err == nil {
		t.Fatal("a lost reply was not reported")
	}
	w.mine(17, 5)
	w.journal.Close() // SIGKILL: nothing more is written

	w = openJournaled(t, path, ledger)
	if st := w.state; st.Seq != 2 || len(st.Batches) != 1 || st.Batches[0].Hashes != 7 || st.Pending.Hashes != 5 {
		t.Fatalf("replayed seq %d, %d batches, %d pending; want seq 2, batch 2 of 7, 5 pending", st.Seq, len(st.Batches), st.Pending.Hashes)
	}
	if w.flusher.Pending() != 12 {
		t.Fatalf("pending %d after replay, want 12", w.flusher.Pending())
	}
	w.mine(22, 3)
	if lost := w.flusher.Drain(context.Background()); lost != 0 {
		t.Fatalf("drain lost %d", lost)
	}
	// Batch 2 went again with its Seq and was called already applied: flushed, not an
	// anomaly. The pending loops and the new ones went as batch 3.
	if ledger.hashes != 25 || len(ledger.wallet) != 7 {
		t.Fatalf("ledger has %d hashes, %d coins; want 25, 7", ledger.hashes, len(ledger.wallet))
	}
	if w.flusher.Anomalies() != 0 || w.flusher.Flushed() != 15 {
		t.Fatalf("anomalies %d, flushed %d; want 0, 15", w.flusher.Anomalies(), w.flusher.Flushed())
	}
	if got := ledger.calls[len(ledger.calls)-2:]; got[0] != 2 || got[1] != 3 {
		t.Fatalf("after the restart batches %v went, want 2 then 3", got)
	}
}

// A crash in the middle of a write leaves a line without its end: it is ignored, and
// the journal is rewritten so that what comes next is not glued to it.
func TestJournalIgnoresATornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	w := openJournaled(t, path, &fakeLedger{})
	w.mine(0, 6)
	w.journal.Close()
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("L 10") // the start of a seventh loop
	f.Close()

	w = openJournaled(t, path, &fakeLedger{})
	if w.state.Pending.Hashes != 6 || len(w.state.Pending.Coins) != 2 {
		t.Fatalf("replayed %d loops, %d coins; want 6, 2", w.state.Pending.Hashes, len(w.state.Pending.Coins))
	}
	w.mine(6, 2)
	w.journal.Close()
	w = openJournaled(t, path, &fakeLedger{})
	if w.state.Pending.Hashes != 8 {
		t.Fatalf("after a torn line and two more loops, replayed %d loops, want 8", w.state.Pending.Hashes)
	}

	// Damage anywhere else is not a torn write: the worker refuses to guess.
	w.journal.Close()
	os.WriteFile(path, []byte("L 1\nX garbage\nL 2\n"), 0o600)
	if _, _, err := OpenJournal(path, quiet); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a damaged journal opened with %v", err)
	}
}

// Once everything taken is acknowledged and the file has grown, it is rewritten as one
// snapshot holding only what is still pending.
func TestJournalCompactsWhenEverythingIsAcknowledged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	ledger := &fakeLedger{}
	w := openJournaled(t, path, ledger)
	w.journal.compactAt = 1 << 10
	for i := range 40 {
		w.mine(i*10, 10)
		if err := w.flusher.flushAll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	if len(data) >= 1<<10 || !strings.HasPrefix(string(data), "S ") {
		t.Fatalf("journal is %d bytes starting %.20q after 400 acknowledged loops", len(data), data)
	}
	w.mine(400, 3) // pending, after the last compaction
	w.journal.Close()
	w = openJournaled(t, path, ledger)
	if w.state.Seq != 40 || len(w.state.Batches) != 0 || w.state.Pending.Hashes != 3 {
		t.Fatalf("after compaction replayed seq %d, %d batches, %d pending; want 40, 0, 3", w.state.Seq, len(w.state.Batches), w.state.Pending.Hashes)
	}
	if err := w.flusher.flushAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ledger.hashes != 403 || ledger.calls[len(ledger.calls)-1] != 41 {
		t.Fatalf("ledger has %d hashes, last batch %d; want 403, 41", ledger.hashes, ledger.calls[len(ledger.calls)-1])
	}
}

// While Redis is down the miner stops at the limit instead of growing the journal.
func TestMinerPausesAtTheJournalLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	w := openJournaled(t, filepath.Join(t.TempDir(), "journal"), &fakeLedger{down: true})
	w.mine(0, 3)
	w.flusher.flushAll(ctx) // batch 1 held, unacknowledged
	m := &Miner{Pause: time.Millisecond, RNG: &fakeRNG{fill: 1}, Hasher: &fakeHasher{}, Tally: w.tally, Log: quiet,
		Limit: 20, Pending: w.flusher.Pending}
	m.Run(ctx)
	if p := w.flusher.Pending(); p != 20 {
		t.Fatalf("pending %d after mining with Redis down, want the limit 20", p)
	}
}

// "Already applied" for a batch none of whose attempts can have landed is an anomaly:
// on its first attempt, or after the ledger refused it.
func TestAlreadyAppliedWithoutALostReplyIsAnAnomaly(t *testing.T) {
	for _, refuse := range []int{0, 2} {
		ledger := &fakeLedger{refuse: refuse, applied: map[uint64]dockercoins.Batch{1: {Seq: 1, Hashes: 4}}}
		ledger.wallet = map[string][]byte{}
		tally := &Tally{}
		f := &Flusher{Ledger: ledger, Tally: tally, Every: time.Millisecond, Log: quiet}
		for range 4 {
			tally.Add("fff", nil, time.Now())
		}
		if lost := f.Drain(context.Background()); lost != 0 {
			t.Fatalf("drain left %d", lost)
		}
		if f.Anomalies() != 1 || f.Anomalous() != 4 || f.Flushed() != 0 || f.Pending() != 0 {
			t.Fatalf("refused %d times: anomalies %d (%d hashes), flushed %d, pending %d; want 1 (4), 0, 0",
				refuse, f.Anomalies(), f.Anomalous(), f.Flushed(), f.Pending())
		}
	}
}

// One process at a time holds a data dir, and its identity outlives the process.
func TestDataDirIsExclusiveAndKeepsItsIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	d, err := OpenDataDir(path, "host")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDataDir(path, "host"); err == nil {
		t.Fatal("a second process opened a data dir in use")
	}
	id := d.ID
	d.Close()
	d, err = OpenDataDir(path, "other")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.ID != id || !strings.HasPrefix(id, "host-") {
		t.Fatalf("identity %q after reopening, was %q", d.ID, id)
	}
}
