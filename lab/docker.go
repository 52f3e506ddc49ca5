package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dockercoins/dockercoins/internal/poll"
)

// DockerSocket is where the Docker daemon answers.
const DockerSocket = "/var/run/docker.sock"

// EnsureDocker makes sure a Docker daemon answers: the one running, else Debian's
// dockerd started in the background (there may be no init system to start it), its
// log in logDir. The returned stop stops only a daemon EnsureDocker started; for one
// that was running already it does nothing.
func EnsureDocker(ctx context.Context, logDir string) (stop func() error, err error) {
	nothing := func() error { return nil }
	if dockerAnswers(ctx) {
		return nothing, nil
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return nothing, errors.New("no Docker daemon answers and dockerd is not installed (make deps installs docker.io)")
	}
	if os.Geteuid() != 0 {
		return nothing, errors.New("no Docker daemon answers, and starting dockerd needs root")
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nothing, err
	}
	logPath := filepath.Join(logDir, "dockerd.log")
	log, err := os.Create(logPath)
	if err != nil {
		return nothing, err
	}
	defer log.Close()
	cmd := exec.Command(dockerd)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: a Ctrl-C meant for the caller does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nothing, fmt.Errorf("start dockerd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			return nil
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			return errors.New("dockerd did not stop within 30 s of SIGTERM; killed")
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err = poll.Until(wctx, "dockerd to answer on "+DockerSocket, 200*time.Millisecond, func() (bool, string, error) {
		select {
		case err := <-exited:
			exited <- err
			return false, "", fmt.Errorf("dockerd exited (%v):\n%s", err, tail(logPath, 15))
		default:
		}
		return dockerAnswers(ctx), "not answering", nil
	})
	if err != nil {
		stop()
		return nothing, err
	}
	return stop, nil
}

// dockerAnswers reports whether a daemon answers the docker CLI.
func dockerAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "version", "-f", "{{.Server.Version}}").Run() == nil
}
