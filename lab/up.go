package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Up is `make up`: the dev stack, then the app on it, every job healthy. It prints its
// progress to out.
func Up(ctx context.Context, d Dev, a App, out io.Writer) (*Stack, error) {
	if err := CheckDriver(a.Driver); err != nil {
		return nil, err
	}
	if d.BinDir == "" {
		d.BinDir = a.BinDir
	}
	d.RawExec = a.Driver == RawExec
	fmt.Fprintln(out, "starting the Consul and Nomad dev agents...")
	s, err := StartDev(ctx, d)
	if err != nil {
		return nil, err
	}
	if a.Driver == "" {
		if a.Driver, err = pickDriver(ctx, s, d, out); err != nil {
			return s, err
		}
	}
	s.Driver = a.Driver
	fmt.Fprintf(out, "task driver: %s (%s)\n", a.Driver, driverNote[a.Driver])
	if a.Mesh {
		fmt.Fprintln(out, "applying the mesh's intentions (consul/intentions)...")
	}
	if len(a.Jobs) == 0 && !a.Tools.JaegerBuilt() {
		// The app mines while Jaeger builds; the caller deploys the jaeger job once it is
		// built (cmd/dockercoins: jaegerLater).
		a.Jobs = slices.DeleteFunc(slices.Clone(Jobs), func(job string) bool { return job == "jaeger" })
		fmt.Fprintln(out, "running the redis and dockercoins jobs (jaeger once it is built)...")
	} else {
		fmt.Fprintln(out, "running the redis, jaeger and dockercoins jobs...")
	}
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
		errs = append(errs, stopJobs(ctx, d.IP, ""))
	}
	errs = append(errs, StopAgents(d.State), os.RemoveAll(d.State))
	return errors.Join(errs...)
}

// stopJobs stops the app on the servers at ip, if they still answer, with the Nomad
// token given ("": none, a stack without Nomad ACLs).
func stopJobs(ctx context.Context, ip, token string) error {
	s, err := newStack(ip)
	if err != nil {
		return err
	}
	s.Nomad.SetToken(token)
	if answering(s.NomadAddr+"/v1/agent/health", "")(ctx) != nil {
		return nil // the agent is gone already: nothing runs the jobs
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return StopApp(ctx, s.Nomad)
}

// driverNote says how the tasks run with each driver.
var driverNote = map[string]string{
	Docker:  "the images dockercoins/<service>:local, each as its image's non-root user; make up DRIVER=exec for the chroot",
	Exec:    "each task in a chroot, as " + TaskUser,
	RawExec: "no isolation, as " + TaskUser + ": neither docker nor exec runs here",
}

// pickDriver chooses the best driver the dev agent's client offers (ChooseDriver),
// building the service images if docker runs and they are missing. If the client
// offers neither docker nor exec, it restarts the Nomad agent with raw_exec on.
func pickDriver(ctx context.Context, s *Stack, d Dev, out io.Writer) (string, error) {
	healthy, err := HealthyDrivers(ctx, s.Nomad.API())
	if err != nil {
		return "", err
	}
	// A container on the host network joins the Docker daemon's network namespace, not
	// the one the stack runs in: in a namespace, docker is no choice.
	if d.Netns != "" {
		healthy = slices.DeleteFunc(healthy, func(drv string) bool { return drv == Docker })
	}
	images := false
	if slices.Contains(healthy, Docker) {
		images = ImagesReady(ctx)
		if !images {
			fmt.Fprintln(out, "building the service images for the docker driver (cached in "+ImageCacheDir()+")...")
			err := BuildImages(ctx, d.Root, ImageCacheDir(), d.Tools, out)
			if err != nil {
				fmt.Fprintf(out, "no images (%v): not using docker\n", err)
			}
			images = err == nil
		}
	}
	drv, err := ChooseDriver(healthy, images)
	if err == nil || d.RawExec {
		return drv, err
	}
	if pid, ok := readPid(filepath.Join(d.State, "nomad.pid")); ok {
		stopPid(pid)
	}
	os.Remove(filepath.Join(d.State, "nomad.pid"))
	d.RawExec = true
	if _, err := StartDev(ctx, d); err != nil {
		return "", err
	}
	if healthy, err = HealthyDrivers(ctx, s.Nomad.API()); err != nil {
		return "", err
	}
	return ChooseDriver(healthy, false)
}
