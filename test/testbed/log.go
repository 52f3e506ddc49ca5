package testbed

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Log keeps a program's output line by line: a process's (see Proc) or that of a
// logger in the test itself (see NewLogger). It is safe for concurrent use.
type Log struct {
	Name  string
	mu    sync.Mutex
	lines []string
	part  []byte // a line not ended yet
}

// NewLogger returns a JSON logger writing to a Log, shown when the test fails.
func NewLogger(t testing.TB, name string) (*slog.Logger, *Log) {
	l := &Log{Name: name}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- %s log (last 30 lines):\n%s", name, l.Tail(30))
		}
	})
	return slog.New(slog.NewJSONHandler(l, nil)), l
}

// Write adds the complete lines in p; a partial line waits for its end.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.part[:i]))
		l.part = l.part[i+1:]
	}
	return len(p), nil
}

// Lines returns the output so far.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// Tail returns the last n lines of output.
func (l *Log) Tail(n int) string {
	lines := l.Lines()
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Events returns the JSON log lines whose "msg" is msg.
func (l *Log) Events(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range l.Lines() {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// WaitEvent waits up to d for a JSON log line with msg and returns it.
func (l *Log) WaitEvent(t testing.TB, msg string, d time.Duration) map[string]any {
	t.Helper()
	var ev map[string]any
	Eventually(t, d, "%s to log %q", func() bool {
		if evs := l.Events(msg); len(evs) > 0 {
			ev = evs[0]
			return true
		}
		return false
	}, l.Name, msg)
	return ev
}
