package worker

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dockercoins/dockercoins"
)

// Journal is an append-only file of what a worker completed that Redis has not
// acknowledged yet, so that a process killed without a drain (SIGKILL, OOM) loses
// nothing: the next process in the same data directory replays it. It is not synced
// on every write: the kernel keeps what a dead process wrote, and a node that loses
// power loses the journal with the node anyway.
//
// One record per line:
//
//	S {json}               a snapshot, only as the first line: JournalState
//	L <unix>               a completed loop
//	L <unix> <hash> <hex>  a completed loop that found a coin, with its random bytes
//	B <seq>                the loops since the last B went into batch seq
//	A <seq>                Redis acknowledged batch seq
type Journal struct {
	path      string
	log       *slog.Logger
	compactAt int64 // rewrite once the file is this large and nothing is unacknowledged

	mu      sync.Mutex
	f       *os.File
	size    int64
	failing time.Time // when a write last failed and was logged
}

// JournalState is what a journal holds: the last batch taken, the batches taken but not
// acknowledged, and the loops not yet in a batch.
type JournalState struct {
	Seq     uint64              `json:"seq"`
	Batches []dockercoins.Batch `json:"batches,omitempty"`
	Pending dockercoins.Batch   `json:"pending"`
}

// Loops counts the loops the state holds.
func (s JournalState) Loops() int64 {
	n := s.Pending.Hashes
	for _, b := range s.Batches {
		n += b.Hashes
	}
	return n
}

// compactAt is when a journal is rewritten: about 3,000 loops of records.
const compactAt = 64 << 10

// OpenJournal reads the journal at path (if any), returns what it holds, and rewrites
// it as one snapshot, so that a torn last line left by a crash is gone before anything
// is appended. A last line without its newline is such a torn write and is ignored;
// any other damage is an error.
func OpenJournal(path string, log *slog.Logger) (*Journal, JournalState, error) {
	st, torn, err := readJournal(path)
	if err != nil {
		return nil, st, err
	}
	if torn > 0 {
		log.Warn("journal: ignored a torn last record", "path", path, "bytes", torn)
	}
	j := &Journal{path: path, log: log, compactAt: compactAt}
	if err := j.rewrite(st); err != nil {
		return nil, st, err
	}
	return j, st, nil
}

func readJournal(path string) (st JournalState, torn int, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, 0, nil
	}
	if err != nil {
		return st, 0, err
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		torn, data = len(data)-(i+1), data[:i+1]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<30) // a snapshot line holds a whole outage's batch
	for n := 1; sc.Scan(); n++ {
		if err := st.replay(sc.Text(), n == 1); err != nil {
			return st, 0, fmt.Errorf("journal %s line %d: %w", path, n, err)
		}
	}
	return st, torn, sc.Err()
}

// replay applies one record to the state.
func (s *JournalState) replay(line string, first bool) error {
	kind, rest, _ := strings.Cut(line, " ")
	if kind == "S" {
		if !first {
			return errors.New("snapshot after the first line")
		}
		return json.Unmarshal([]byte(rest), s)
	}
	f := strings.Fields(rest)
	switch {
	case kind == "L" && (len(f) == 1 || len(f) == 3):
		sec, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return err
		}
		var coin []byte
		if len(f) == 3 {
			if coin, err = hex.DecodeString(f[2]); err != nil {
				return err
			}
		}
		addLoop(&s.Pending, sec, f[1:], coin)
	case (kind == "B" || kind == "A") && len(f) == 1:
		seq, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return err
		}
		if kind == "A" {
			s.Batches = removeBatch(s.Batches, seq)
			return nil
		}
		if seq <= s.Seq {
			return fmt.Errorf("batch %d after batch %d", seq, s.Seq)
		}
		s.Pending.Seq, s.Seq = seq, seq
		s.Batches = append(s.Batches, s.Pending)
		s.Pending = dockercoins.Batch{}
	default:
		return fmt.Errorf("bad record %.40q", line)
	}
	return nil
}

// addLoop adds one loop to b; coin is [hash] with its bytes when the loop found one.
func addLoop(b *dockercoins.Batch, sec int64, coin []string, data []byte) {
	b.Hashes++
	if b.Seconds == nil {
		b.Seconds = map[int64]int64{}
	}
	b.Seconds[sec]++
	if len(coin) > 0 {
		if b.Coins == nil {
			b.Coins = map[string][]byte{}
		}
		b.Coins[coin[0]] = data
	}
}

func removeBatch(bs []dockercoins.Batch, seq uint64) []dockercoins.Batch {
	for i, b := range bs {
		if b.Seq == seq {
			return append(bs[:i:i], bs[i+1:]...)
		}
	}
	return bs
}

// loop records a completed loop; hash and data only matter for a coin.
func (j *Journal) loop(sec int64, hash string, data []byte) {
	if dockercoins.IsCoin(hash) {
		j.append(fmt.Sprintf("L %d %s %x\n", sec, hash, data))
		return
	}
	j.append(fmt.Sprintf("L %d\n", sec))
}

func (j *Journal) take(seq uint64) { j.append(fmt.Sprintf("B %d\n", seq)) }
func (j *Journal) ack(seq uint64)  { j.append(fmt.Sprintf("A %d\n", seq)) }

// append writes one record in one write, so a crash can tear only the last line. A
// failed write (a full disk) is logged at most once a minute; the loop still counts in
// memory and reaches Redis unless the process dies before.
func (j *Journal) append(rec string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	n, err := j.f.WriteString(rec)
	j.size += int64(n)
	if err != nil && time.Since(j.failing) > time.Minute {
		j.failing = time.Now()
		j.log.Error("journal: write failed; a crash now would lose unflushed loops", "path", j.path, "err", err)
	}
}

// due reports whether the journal has grown enough to be rewritten.
func (j *Journal) due() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size >= j.compactAt
}

// rewrite replaces the journal by a snapshot of st, atomically: a temporary file,
// synced, renamed over the old one. The caller holds whatever keeps st from changing.
func (j *Journal) rewrite(st JournalState) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	snap, err := json.Marshal(st)
	if err != nil {
		return err
	}
	rec := append(append([]byte("S "), snap...), '\n')
	if err := writeAtomic(j.path, rec); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.size = f, int64(len(rec))
	return nil
}

// writeAtomic replaces the file at path by data, whole or not at all: a temporary
// file, synced, renamed over it.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := writeSynced(tmp, data); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Close closes the file; what it holds stays for the next process.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.f.Close()
}
