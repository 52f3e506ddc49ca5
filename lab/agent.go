package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Agent is a Consul or Nomad agent run in the background: its output goes to
// <State>/<Name>.log and its pid to <State>/<Name>.pid, so any later process, not only
// the one that started it, can stop it.
type Agent struct {
	Name  string                      // "consul" or "nomad"
	State string                      // an absolute folder
	Netns string                      // the network namespace to run in; empty: this one
	Args  []string                    // the program and its arguments
	Ready func(context.Context) error // nil once the agent serves
}

// Start starts the agent in a session of its own, so it outlives the caller and a
// terminal's hangup, and waits (up to 30 s) until it is ready. An agent its pid file
// shows running already is only waited for.
func (a Agent) Start(ctx context.Context) error {
	pidfile := a.pidfile()
	if pid, ok := readPid(pidfile); ok && alive(pid) {
		// Started by an earlier run, as `make up` run twice does: use it.
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return waitFor(ctx, "the running "+a.Name+" agent (pid "+strconv.Itoa(pid)+")", func() error { return a.Ready(ctx) })
	}
	log, err := os.Create(filepath.Join(a.State, a.Name+".log"))
	if err != nil {
		return err
	}
	defer log.Close()
	args := a.Args
	if a.Netns != "" {
		// ip netns exec execs the agent, so the pid is the agent's own.
		args = append([]string{"ip", "netns", "exec", a.Netns}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s agent: %w", a.Name, err)
	}
	// Reaps the agent if it exits while this process lives (tests), so a dead agent is
	// not mistaken for a running one.
	go cmd.Wait()
	if err := os.WriteFile(pidfile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = waitFor(ctx, "the "+a.Name+" agent", func() error {
		if !alive(cmd.Process.Pid) {
			return errStop{fmt.Errorf("%s agent exited; see %s", a.Name, log.Name())}
		}
		return a.Ready(ctx)
	})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, tail(log.Name(), 15))
	}
	return nil
}

func (a Agent) pidfile() string { return filepath.Join(a.State, a.Name+".pid") }

// StopAgents stops the agents whose pid files are in state, Nomad before Consul, each
// with SIGINT (so it leaves the cluster) and SIGKILL if it is not gone within 15 s.
// Then it kills what Nomad left running from that folder: tasks, executors and log
// collectors that outlived their agent. Stop the jobs first, so the app shuts down
// gracefully; this is the last resort.
func StopAgents(state string) error {
	state, err := filepath.Abs(state)
	if err != nil {
		return err
	}
	for _, name := range []string{"nomad", "consul"} {
		pidfile := filepath.Join(state, name+".pid")
		if pid, ok := readPid(pidfile); ok {
			stopPid(pid)
		}
		os.Remove(pidfile)
	}
	for _, dir := range []string{filepath.Join(state, "nomad"), filepath.Join(state, "data", "nomad")} {
		pids := leftovers(dir)
		if len(pids) == 0 {
			continue
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		time.Sleep(2 * time.Second)
		for _, pid := range leftovers(dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

// StopAll stops the agents of several state folders side by side: each takes a few
// seconds to leave.
func StopAll(states []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(states))
	for i, s := range states {
		wg.Go(func() { errs[i] = StopAgents(s) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func stopPid(pid int) {
	if syscall.Kill(pid, syscall.SIGINT) != nil {
		return
	}
	deadline := time.Now().Add(15 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// leftovers lists the processes Nomad started for allocations under dir, found by the
// allocation folder in their environment or command line.
func leftovers(dir string) []int {
	var pids []int
	for _, pid := range allPids() {
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(append([]byte{0}, env...), []byte("\x00NOMAD_ALLOC_DIR="+dir+"/")) ||
			bytes.Contains(cmdline, []byte(dir+"/alloc/")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func readPid(pidfile string) (int, bool) {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil && pid > 0
}

// alive reports whether pid runs; a zombie does not.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// answering returns a readiness check: url answers 200 with a body other than not
// ("" for any body).
func answering(url, not string) func(context.Context) error {
	return func(ctx context.Context) error {
		body, err := get(ctx, url)
		if err == nil && not != "" && strings.TrimSpace(body) == not {
			return fmt.Errorf("%s: %s", url, body)
		}
		return err
	}
}

// get reads url, which must answer 200.
func get(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}

// errStop ends a waitFor at once.
type errStop struct{ error }

// waitFor retries check every 200 ms until it succeeds, fails with errStop, or ctx ends.
func waitFor(ctx context.Context, what string, check func() error) error {
	for {
		err := check()
		if err == nil {
			return nil
		}
		var stop errStop
		if errors.As(err, &stop) {
			return stop.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s: %v", what, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of a file, indented.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return "  " + strings.Join(lines[max(0, len(lines)-n):], "\n  ")
}
