// Command bottleneck reads recent worker loop traces from Jaeger and prints, per step
// of the loop, count, p50, p95 and share of loop time, how much of rng's time is
// queueing, and one line naming what limits DockerCoins.
//
//	go run ./cmd/bottleneck [-jaeger http://localhost:16686] [-lookback 1m] [-limit 200] [-json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/dockercoins/dockercoins/telemetry/bottleneck"
	"github.com/dockercoins/dockercoins/telemetry/jaeger"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "bottleneck: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bottleneck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("jaeger", "http://localhost:16686", "Jaeger query URL")
	lookback := fs.Duration("lookback", time.Minute, "read loops that started this far back")
	limit := fs.Int("limit", 200, "read at most this many loops, the most recent first")
	settle := fs.Duration("settle", 3*time.Second, "leave out the loops of the last moments, whose spans may still be arriving")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *lookback <= 0 || *limit < 1 || *settle < 0 {
		return fmt.Errorf("-lookback must be positive, -limit at least 1 and -settle not negative")
	}
	c := &jaeger.Client{URL: *url}
	r, err := bottleneck.Fetch(ctx, c, bottleneck.Options{Lookback: *lookback, Limit: *limit, Settle: *settle}, time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(stdout, "from %s, loops of the last %s:\n", *url, *lookback)
	if err := r.WriteText(stdout); err != nil {
		return err
	}
	if r.Loops > 0 {
		fmt.Fprintf(stdout, "slow loops: %s\n", jaeger.SearchURL(*url, jaeger.Query{
			Service: bottleneck.Service, Operation: bottleneck.Loop, MinDuration: r.Loop.P95, Limit: 20}, *lookback))
	}
	return nil
}
