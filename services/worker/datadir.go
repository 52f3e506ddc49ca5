package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DataDir is a worker's folder for what must outlive its process: its identity in the
// ledger (the file id, made once) and its journal. One process at a time holds it: a
// second one in the same folder would append to the same journal and reuse the same
// sequence numbers, so it is refused. The lock is the kernel's (flock), released when
// the holder dies however it dies, so a restart after SIGKILL finds it free.
type DataDir struct {
	Path string
	ID   string
	lock *os.File
}

// OpenDataDir creates the folder if needed, locks it, and reads its identity, making
// one (prefix plus random hex) the first time.
func OpenDataDir(path, prefix string) (*DataDir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(path, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("data dir %s is in use by another worker process: %w", path, err)
	}
	d := &DataDir{Path: path, lock: lock}
	idPath := filepath.Join(path, "id")
	b, err := os.ReadFile(idPath)
	switch {
	case err == nil && len(strings.TrimSpace(string(b))) > 0:
		d.ID = strings.TrimSpace(string(b))
	case err == nil || errors.Is(err, fs.ErrNotExist):
		d.ID = prefix + "-" + randomHex(8)
		// Written whole or not at all, so no torn identity is ever read.
		if err := writeAtomic(idPath, []byte(d.ID+"\n")); err != nil {
			d.Close()
			return nil, fmt.Errorf("data dir: %w", err)
		}
	default:
		d.Close()
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return d, nil
}

// JournalPath is where the journal lives.
func (d *DataDir) JournalPath() string { return filepath.Join(d.Path, "journal") }

// Close releases the folder.
func (d *DataDir) Close() error { return d.lock.Close() }
