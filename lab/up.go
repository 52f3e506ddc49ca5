package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Up is `make up`: the dev stack, then the app on it, every job healthy. It prints its
// progress to out.
func Up(ctx context.Context, d Dev, a App, out io.Writer) (*Stack, error) {
	fmt.Fprintln(out, "starting the Consul and Nomad dev agents...")
	s, err := StartDev(ctx, d)
	if err != nil {
		return nil, err
	}
	if a.Mesh {
		fmt.Fprintln(out, "applying the mesh's intentions (consul/intentions)...")
	}
	fmt.Fprintln(out, "running the redis, jaeger and dockercoins jobs...")
	return s, Deploy(ctx, s, a)
}

// Down is `make down`: it stops the jobs of the dev stack Up started (so every worker
// flushes its count), then its agents, then anything they left behind, and removes its
// state folder.
func Down(ctx context.Context, d Dev) error {
	if d.IP == "" {
		d.IP = "127.0.0.1"
	}
	var errs []error
	if _, ok := readPid(filepath.Join(d.State, "nomad.pid")); ok {
		errs = append(errs, stopJobs(ctx, d.IP))
	}
	errs = append(errs, StopAgents(d.State), os.RemoveAll(d.State))
	return errors.Join(errs...)
}

// stopJobs stops the app on the servers at ip, if they still answer.
func stopJobs(ctx context.Context, ip string) error {
	s, err := newStack(ip)
	if err != nil {
		return err
	}
	if answering(s.NomadAddr+"/v1/agent/self", "")(ctx) != nil {
		return nil // the agent is gone already: nothing runs the jobs
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return StopApp(ctx, s.Nomad)
}
