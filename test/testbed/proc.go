package testbed

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a process started for a test. Its output is kept, line by line.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string
	done chan struct{}
	err  error
}

// Start runs a program with env added to the test's environment, and stops it (SIGKILL
// if it ignores SIGTERM) when the test ends.
func Start(t testing.TB, name string, env []string, prog string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &Proc{Name: name, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out = append(p.out, sc.Text())
			p.mu.Unlock()
		}
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("--- %s output (last 30 lines):\n%s", name, p.Tail(30))
		}
	})
	return p
}

// Signal sends sig to the process group.
func (p *Proc) Signal(sig syscall.Signal) { syscall.Kill(-p.cmd.Process.Pid, sig) }

// Stop sends SIGTERM, waits up to grace, then kills. It returns the exit error.
func (p *Proc) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Signal(syscall.SIGKILL)
		<-p.done
	}
	return p.err
}

// Kill stops the process at once, as a crash would.
func (p *Proc) Kill() {
	p.Signal(syscall.SIGKILL)
	<-p.done
}

// Wait waits for the process to exit, up to d, and returns its exit error.
func (p *Proc) Wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		t.Fatalf("%s still running after %s", p.Name, d)
		return nil
	}
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Lines returns the output so far.
func (p *Proc) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.out...)
}

// Tail returns the last n lines of output.
func (p *Proc) Tail(n int) string {
	l := p.Lines()
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// Events returns the JSON log lines whose "msg" is msg.
func (p *Proc) Events(msg string) []map[string]any {
	var out []map[string]any
	for _, l := range p.Lines() {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// WaitEvent waits up to d for a JSON log line with msg and returns it.
func (p *Proc) WaitEvent(t testing.TB, msg string, d time.Duration) map[string]any {
	t.Helper()
	var ev map[string]any
	Eventually(t, d, "%s to log %q", func() bool {
		if evs := p.Events(msg); len(evs) > 0 {
			ev = evs[0]
			return true
		}
		return false
	}, p.Name, msg)
	return ev
}

// Eventually polls cond every 50ms for up to d, failing the test with the formatted
// what if it never holds.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for "+what, append([]any{d}, args...)...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID is the process's id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }
