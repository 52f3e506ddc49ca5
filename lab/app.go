package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/hashicorp/nomad/api"
)

// Jobs are DockerCoins' Nomad jobs, in the order they start; they stop in reverse.
var Jobs = []string{"redis", "jaeger", "dockercoins"}

// Services are the groups of the dockercoins job, the ones `make scale` takes.
var Services = []string{dockercoins.RNG, dockercoins.Hasher, dockercoins.Worker, dockercoins.WebUI}

// App says how DockerCoins runs on a stack.
type App struct {
	Root    string // the repository, for jobs/
	BinDir  string // the services' binaries, at the same path on every node; default <Root>/bin
	Tools   Tools
	Mesh    bool              // Consul Connect between the services, with the mesh's intentions
	Tracing bool              // traces to the Jaeger job at the stack's address: single node only
	Vars    nomad.Vars        // more variables of the dockercoins job (counts, delays...)
	Jobs    []string          // the jobs Deploy runs, in Jobs' order; empty: all of Jobs
	Pin     map[string]string // job -> the node its allocations must run on (a cluster's n1...)

	// Driver runs the dockercoins job's tasks: docker, exec or raw_exec (see Drivers);
	// empty: each job's default (exec). Redis and Jaeger run with exec, or raw_exec
	// where that is the app's driver.
	Driver string
}

// Deploy runs the redis, jaeger and dockercoins jobs on a stack and waits until each
// deployment is healthy. With the mesh on, the intentions are applied first, so the
// services' first calls are already allowed. Where Nomad's ACLs are on, the web UI's
// Nomad token (read the job; scale it too if webui_scaling) goes into its variable
// first.
func Deploy(ctx context.Context, s *Stack, a App) error {
	if s.ConsulACL == nil {
		return fmt.Errorf("the stack at %s has no Consul operator token", s.IP)
	}
	if a.Mesh {
		if err := consul.ApplyIntentions(s.ConsulAddr, s.ConsulACL.Management); err != nil {
			return err
		}
	}
	binDir := a.BinDir
	if binDir == "" {
		binDir = filepath.Join(a.Root, "bin")
	}
	mesh := strconv.FormatBool(a.Mesh)
	app := nomad.Vars{"bin_dir": binDir, "mesh": mesh, "nomad_addr": s.NomadAddr}
	if a.Tracing {
		app["otel_endpoint"] = "http://" + s.IP + ":4318"
		app["jaeger_query_url"] = "http://" + s.IP + ":16686"
	}
	for k, v := range a.Vars {
		app[k] = v
	}
	conf, err := RedisConf(a.Root)
	if err != nil {
		return err
	}
	// Each job gets only the variables it declares.
	vars := map[string]nomad.Vars{
		"redis":       {"mesh": mesh, "consul_bin": a.Tools.Consul, "redis_conf": conf},
		"jaeger":      {"jaeger_bin": a.Tools.Jaeger},
		"dockercoins": app,
	}
	if err := CheckDriver(a.Driver); err != nil {
		return err
	}
	if len(a.Jobs) == 0 || slices.Contains(a.Jobs, "dockercoins") {
		scaling := false
		if v, ok := app["webui_scaling"]; ok {
			if scaling, err = strconv.ParseBool(v); err != nil {
				return fmt.Errorf("webui_scaling: %w", err)
			}
		}
		if err := WriteWebUIToken(ctx, s, scaling); err != nil {
			return err
		}
	}
	if a.Driver != "" {
		app["driver"] = a.Driver
		for _, job := range []string{"redis", "jaeger"} {
			vars[job]["driver"] = Exec
			if a.Driver == RawExec {
				vars[job]["driver"] = RawExec
			}
		}
	}
	for _, job := range Jobs {
		if len(a.Jobs) > 0 && !slices.Contains(a.Jobs, job) {
			continue
		}
		file := filepath.Join(a.Root, "jobs", job+".nomad.hcl")
		spec, err := s.Nomad.ParseFile(file, vars[job])
		if err != nil {
			return err
		}
		if node := a.Pin[job]; node != "" {
			spec.Constrain(api.NewConstraint("${node.unique.name}", "=", node))
		}
		if _, err := s.Nomad.Run(ctx, spec); err != nil {
			return fmt.Errorf("run %s: %w", file, err)
		}
	}
	return nil
}

// RedisConf reads redis/redis.conf, the Redis configuration of every stack, which the
// redis job takes as its redis_conf variable.
func RedisConf(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "redis", "redis.conf"))
	if err != nil {
		return "", fmt.Errorf("the redis job's configuration: %w", err)
	}
	return string(b), nil
}

// StopApp stops the jobs that run, dockercoins first, each waited for until none of
// its allocations runs, so every worker has flushed its count.
func StopApp(ctx context.Context, c *nomad.Client) error {
	for i := len(Jobs) - 1; i >= 0; i-- {
		_, found, err := c.Counts(Jobs[i])
		if err != nil {
			return err
		}
		if found {
			if err := c.Stop(ctx, Jobs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckScale tells whether service and count make a valid scale request.
func CheckScale(service string, count int) error {
	if !slices.Contains(Services, service) {
		return fmt.Errorf("the service must be rng, hasher, worker or webui, got %q", service)
	}
	if count < 0 {
		return fmt.Errorf("the count must be 0 or more, got %d", count)
	}
	return nil
}

// ScaleStep is the most instances Scale adds at once (nomad.ScaleInSteps).
const ScaleStep = 25

// Scale sets how many instances of a service run, as `nomad job scale dockercoins
// <service> <count>` does, at most ScaleStep more at a time, and waits until the change
// is deployed; done, if not nil, hears each count reached.
func Scale(ctx context.Context, c *nomad.Client, service string, count int, done func(int)) error {
	if err := CheckScale(service, count); err != nil {
		return err
	}
	err := c.ScaleInSteps(ctx, "dockercoins", service, count, ScaleStep, done)
	if errors.Is(err, nomad.ErrNotRunning) {
		return fmt.Errorf("the dockercoins job does not run: make up (or make cluster) first")
	}
	return err
}
