package platform

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is a service's whole program, given its arguments, environment and output.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// Main runs a service with the process's arguments, environment and stdout. SIGINT and
// SIGTERM cancel its context so it can stop gracefully; an error exits with status 1.
//
// `<binary> healthcheck` instead checks the instance listening at ADDR (defaultAddr if
// unset) and exits 0 if its health path answers 200.
//
// Before the service runs, the program starts itself again in place with SysmonSetting
// in GODEBUG, unless GODEBUG sets schedtrace.
func Main(name, defaultAddr string, run RunFunc) {
	health := len(os.Args) == 2 && os.Args[1] == "healthcheck"
	if !health {
		calmSysmon() // first: a signal caught before the restart would be lost in it
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if health {
		if err := healthcheck(ctx, os.Getenv, defaultAddr); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
