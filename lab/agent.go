package lab

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dockercoins/dockercoins/internal/poll"
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
		return poll.Until(ctx, "the running "+a.Name+" agent (pid "+strconv.Itoa(pid)+")", agentPoll, a.ready(ctx, pid))
	}
	log, err := os.Create(filepath.Join(a.State, a.Name+".log"))
	if err != nil {
		return err
	}
	defer log.Close()
	args := a.Args
	if a.Netns != "" {
		// nsenter enters only the network namespace (ip netns exec also mounts a sysfs
		// of its own, which hides the cgroups Nomad's exec driver needs) and execs the
		// agent, so the pid is the agent's own.
		args = append([]string{"nsenter", "--net=/run/netns/" + a.Netns, "--"}, args...)
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
	if err := poll.Until(ctx, "the "+a.Name+" agent", agentPoll, a.ready(ctx, cmd.Process.Pid)); err != nil {
		return fmt.Errorf("%w\n%s", err, tail(log.Name(), 15))
	}
	return nil
}

func (a Agent) pidfile() string { return filepath.Join(a.State, a.Name+".pid") }

// agentPoll is how often a starting agent is asked whether it is ready.
const agentPoll = 200 * time.Millisecond

// ready is a poll.Until check of the agent running as pid: done once Ready passes,
// failed at once if the process is gone.
func (a Agent) ready(ctx context.Context, pid int) func() (bool, string, error) {
	return func() (bool, string, error) {
		if !alive(pid) {
			return false, "", fmt.Errorf("%s agent exited; see %s", a.Name, filepath.Join(a.State, a.Name+".log"))
		}
		if err := a.Ready(ctx); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	}
}

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
		poll.Within(context.Background(), 2*time.Second, 100*time.Millisecond, func() bool { return len(leftovers(dir)) == 0 })
		for _, pid := range leftovers(dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return unmountUnder(state)
}

// unmountUnder detaches every mount below dir, deepest first: the Nomad client leaves
// its tasks' secrets/ and private/ tmpfs mounts behind when it is stopped, and the
// folder cannot be removed while they are there ("device or resource busy").
func unmountUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("list mounts: %w", err)
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		// mountinfo escapes spaces and the like as octal (\040).
		p := unescapeMount(f[4])
		if strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	slices.SortFunc(points, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
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
	poll.Within(context.Background(), 15*time.Second, 100*time.Millisecond, func() bool { return !alive(pid) })
	syscall.Kill(pid, syscall.SIGKILL)
}

// leftovers lists the processes Nomad started for allocations under dir, found by the
// allocation folder in their environment or command line.
func leftovers(dir string) []int {
	var pids []int
	for _, pid := range allPids() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if envHas(environ(pid), "NOMAD_ALLOC_DIR="+dir+"/") || bytes.Contains(cmdline, []byte(dir+"/alloc/")) {
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

// tail returns the last n lines of a file, indented.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	return lastLines(b, n)
}
