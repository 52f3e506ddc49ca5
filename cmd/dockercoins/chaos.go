package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	goredis "github.com/redis/go-redis/v9"
)

// quiet drops the Redis client's log lines.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// chaosNet is the network of `make chaos`: a range and names of its own, so the suite
// never touches the stack of `make up` or `make cluster`.
func chaosNet() *lab.Net { return &lab.Net{Prefix: "10.199.200", Bridge: "dcx-br", Tag: "dcx-"} }

// chaos is `make chaos`: a cluster of its own, the fault suite on it, the table.
func chaos(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	faults := fs.String("faults", "", "comma-separated faults to inject (default all): "+strings.Join(lab.FaultNames(), ", "))
	workers := fs.Int("workers", 4, "worker instances")
	rngs := fs.Int("rng", 2, "rng instances")
	hashers := fs.Int("hasher", 2, "hasher instances")
	mine := fs.Duration("mine", 8*time.Second, "mining before each fault, and again after the speed recovered")
	recover := fs.Duration("recover", 90*time.Second, "longest wait for the speed to recover")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *workers < 2 || *rngs < 1 || *hashers < 2 {
		return usagef("chaos: want at least 2 workers, 1 rng and 2 hashers (a hasher is killed)")
	}
	var names []string
	if *faults != "" {
		for _, f := range strings.Split(*faults, ",") {
			names = append(names, strings.TrimSpace(f))
		}
	}
	root, err := root()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("chaos needs root for network namespaces")
	}
	tools, err := lab.FindTools()
	if err != nil {
		return err
	}
	n := chaosNet()
	net, err := lab.CreateNet(n.Bridge, n.Prefix, n.Tag)
	if errors.Is(err, lab.ErrNetExists) {
		return fmt.Errorf("%s exists: a chaos run is going on (or was killed: ip link del %s)", n.Bridge, n.Bridge)
	}
	if err != nil {
		return err
	}
	state := filepath.Join(root, ".run", "chaos")
	defer func() {
		fmt.Fprintln(stdout, "stopping the chaos cluster...")
		lab.StopCluster(context.Background(), net, state)
	}()
	fmt.Fprintf(stdout, "starting a cluster of its own: servers at %s, %d client nodes...\n", lab.ServerIP(net), lab.ChaosNodes)
	c := lab.Cluster{Root: root, State: state, Nodes: lab.ChaosNodes, Net: net, Tools: tools}
	sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	s, err := lab.StartCluster(sctx, c)
	cancel()
	if err != nil {
		return fmt.Errorf("chaos cluster (agent logs in %s/<node>/): %w", relative(root, state), err)
	}
	// The suite kills Redis on purpose: its client's reconnection errors are expected.
	goredis.SetLogger(quiet{})
	suite := &lab.Chaos{Cluster: c, Stack: s, Faults: names, Mine: *mine, Recover: *recover, Out: stdout,
		App: lab.ChaosApp(root, filepath.Join(root, "bin"), tools, net, *workers, *rngs, *hashers)}
	start := time.Now()
	results, err := suite.Run(ctx)
	fmt.Fprintf(stdout, "\n%d workers, %d rng, %d hasher; %s of mining before each fault and after the speed recovered (%s in all):\n\n",
		*workers, *rngs, *hashers, *mine, time.Since(start).Round(time.Second))
	ok := lab.WriteTable(stdout, results)
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	if !ok {
		return fmt.Errorf("chaos: target missed")
	}
	return nil
}
