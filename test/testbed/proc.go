package testbed

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Proc is a process started for a test. Its output is kept, line by line, in its Log.
type Proc struct {
	*Log
	cmd  *exec.Cmd
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
	p := &Proc{Log: &Log{Name: name}, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Log, p.Log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
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

// PID is the process's id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }
