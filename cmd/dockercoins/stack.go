package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/dockercoins/dockercoins/lab"
)

// parseFlags parses a command's flags and allows no other argument.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

// devState is where `make up` keeps its agents' logs, pid files and data.
func devState(root string) string { return filepath.Join(root, ".run", "dev") }

func up(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	mesh := fs.Bool("mesh", true, "Consul Connect between the services")
	scaling := fs.Bool("scaling", false, "+/- per group on the web UI's page")
	driver := fs.String("driver", "", "task driver: docker, exec or raw_exec (default: the best the Nomad client offers)")
	jaeger := fs.String("jaeger", "", "the Jaeger binary, or where tools/install.sh will build it: then the app runs first and Jaeger once built (default: jaeger on PATH)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := lab.CheckDriver(*driver); err != nil {
		return usagef("up: %v", err)
	}
	root, err := root()
	if err != nil {
		return err
	}
	names := []string{"consul", "nomad", "jaeger"}
	if *jaeger != "" {
		names = names[:2] // Jaeger is where -jaeger says, built or not
	}
	tools, err := lab.FindTools(names...)
	if err != nil {
		return err
	}
	if *jaeger != "" {
		tools.Jaeger = *jaeger
	}
	d := lab.Dev{Root: root, State: devState(root), Tools: tools}
	app := lab.App{Root: root, Tools: tools, Mesh: *mesh, Tracing: true, Driver: *driver,
		Vars: map[string]string{"webui_scaling": fmt.Sprint(*scaling)}}
	upCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	s, err := lab.Up(upCtx, d, app, stdout)
	if s != nil {
		if err := saveNomadAddr(root, s.NomadAddr, ""); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("up (agent logs in %s): %w", d.State, err)
	}
	fmt.Fprintf(stdout, `DockerCoins is running on Nomad (agent logs in %s/):
  webui      http://localhost:8000   speed, traces, where it runs (scaling from the page: make up SCALING=true)
  Consul UI  http://localhost:8500
%sMesh:       %t (Consul Connect mTLS + intentions; make up MESH=false for plain HTTP)
Scale it:   make scale SERVICE=worker COUNT=10   (nomad job scale dockercoins worker 10)
See it:     make status
Find it:    dig @127.0.0.1 -p 8600 rng.service.consul SRV
Operator:   export CONSUL_HTTP_TOKEN=$(cat %s)   (Consul ACLs deny by default; README "Security model")
Stop it:    make down
`, relative(root, d.State), realUIs(upCtx, tools), *mesh, relative(root, filepath.Join(d.State, lab.ConsulTokenFile)))
	if tools.JaegerBuilt() {
		return nil
	}
	return jaegerLater(ctx, root, s, app, stdout)
}

// jaegerLater builds Jaeger with tools/install.sh while the app mines, then runs the
// jaeger job beside it. The services export to its address from the start, so traces
// begin as soon as it answers.
func jaegerLater(ctx context.Context, root string, s *lab.Stack, app lab.App, stdout io.Writer) error {
	fmt.Fprintln(stdout, "\nbuilding Jaeger for the traces while the app mines (Ctrl-C stops only the build; make up again finishes it)...")
	build := exec.CommandContext(ctx, filepath.Join(root, "tools", "install.sh"), "jaeger")
	build.Stderr = stdout
	if err := build.Run(); err != nil {
		return fmt.Errorf("build jaeger (the app runs on without traces): %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	app.Jobs, app.Driver = []string{"jaeger"}, s.Driver
	if err := lab.Deploy(ctx, s, app); err != nil {
		return fmt.Errorf("run the jaeger job: %w", err)
	}
	fmt.Fprintf(stdout, "Jaeger is running: traces at %s, the loop breakdown on the web UI's page.\n", jaegerUI)
	return nil
}

// jaegerUI is where the dev stack's Jaeger serves its UI.
const jaegerUI = "http://localhost:16686/"

// realUIs lists the Nomad and Jaeger UIs that serve one: the pinned builds answer a
// placeholder page, not worth a line. A Jaeger still to be built is said to be coming.
func realUIs(ctx context.Context, tools lab.Tools) string {
	uis := [][2]string{{"Nomad UI", "http://localhost:4646/ui/"}}
	built := tools.JaegerBuilt()
	if built {
		uis = append(uis, [2]string{"Jaeger", jaegerUI})
	}
	out := ""
	for _, ui := range uis {
		if lab.ServesUI(ctx, ui[1]) {
			out += fmt.Sprintf("  %-10s %s\n", ui[0], ui[1])
		}
	}
	if !built {
		out += fmt.Sprintf("  %-10s %s   being built next: traces start once it runs\n", "Jaeger", jaegerUI)
	}
	return out
}

func down(ctx context.Context, args []string, stdout io.Writer) error {
	if err := parseFlags(flag.NewFlagSet("down", flag.ContinueOnError), args); err != nil {
		return err
	}
	root, err := root()
	if err != nil {
		return err
	}
	err = lab.Down(ctx, lab.Dev{Root: root, State: devState(root)})
	forgetNomadAddr(root, defaultNomad)
	if err != nil {
		return fmt.Errorf("down: %w", err)
	}
	fmt.Fprintln(stdout, "DockerCoins stopped.")
	return nil
}

func cluster(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "down") {
		return usagef("cluster: want up [-nodes N] or down\n%s", usage)
	}
	fs := flag.NewFlagSet("cluster "+args[0], flag.ContinueOnError)
	nodes := new(int)
	if args[0] == "up" {
		fs.IntVar(nodes, "nodes", 3, "client nodes")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if args[0] == "up" && (*nodes < 1 || *nodes > lab.MaxNodes) {
		return usagef("cluster up: -nodes must be 1 to %d, got %d", lab.MaxNodes, *nodes)
	}
	root, err := root()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("cluster %s needs root for network namespaces", args[0])
	}
	state, net := filepath.Join(root, ".run", "cluster"), lab.LabNet()
	server := "http://" + lab.ServerIP(net) + ":4646"
	if args[0] == "down" {
		err := lab.StopCluster(ctx, net, state)
		forgetNomadAddr(root, server)
		if err != nil {
			return fmt.Errorf("cluster down: %w", err)
		}
		fmt.Fprintln(stdout, "Cluster down.")
		return nil
	}
	tools, err := lab.FindTools()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	c := lab.Cluster{Root: root, State: state, Nodes: *nodes, Net: net, Tools: tools}
	s, err := lab.ClusterUp(ctx, c, lab.App{Root: root, Tools: tools}, stdout)
	nomadToken := filepath.Join(state, lab.NomadTokenFile)
	if s != nil {
		if err := saveNomadAddr(root, s.NomadAddr, nomadToken); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("cluster up (agent logs in %s/<node>/): %w", relative(root, state), err)
	}
	fmt.Fprintf(stdout, "Cluster up: the servers at %s and %d clients (%s.11 ...), DockerCoins running.\n",
		s.IP, *nodes, net.Prefix)
	if err := printStatus(s.Nomad, s.NomadAddr, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `  Consul UI  %s
Use it with (Nomad's ACLs refuse requests without a token; README "Security model"):
  export NOMAD_ADDR=%s NOMAD_TOKEN=$(cat %s)
  make scale SERVICE=worker COUNT=10     (or: nomad job scale dockercoins worker 10)
  make status                            (allocations and their nodes)
  dig @%s -p 8600 worker.service.consul SRV
Consul operator token (ACLs deny by default):
  export CONSUL_HTTP_ADDR=%s CONSUL_HTTP_TOKEN=$(cat %s)
Stop it with: make cluster-down
`, s.ConsulAddr, s.NomadAddr, relative(root, nomadToken), s.IP, s.ConsulAddr, relative(root, filepath.Join(state, lab.ConsulTokenFile)))
	return nil
}

// relative shortens path for messages.
func relative(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}
