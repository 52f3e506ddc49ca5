package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
)

func scale(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 2 {
		return usagef("scale: want <service> <count>, e.g. scale worker 10")
	}
	count, err := strconv.Atoi(args[1])
	if err != nil {
		return usagef("scale: the count must be a whole number, got %q", args[1])
	}
	if err := lab.CheckScale(args[0], count); err != nil {
		return usageError{fmt.Errorf("scale: %w", err)}
	}
	c, addr, err := connect(getenv)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "scaling %s to %d at %s (at most %d more at a time)...\n", args[0], count, addr, lab.ScaleStep)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(1+count/lab.ScaleStep)*3*time.Minute)
	defer cancel()
	err = lab.Scale(ctx, c, args[0], count, func(n int) { fmt.Fprintf(stdout, "%s: %d running and healthy.\n", args[0], n) })
	if err != nil {
		return fmt.Errorf("scale %s to %d: %w", args[0], count, err)
	}
	return nil
}

func status(args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 0 {
		return usagef("status takes no arguments")
	}
	c, addr, err := connect(getenv)
	if err != nil {
		return err
	}
	return printStatus(c, addr, stdout)
}

// printStatus writes the status table of the stack whose Nomad c talks to at addr.
func printStatus(c *nomad.Client, addr string, stdout io.Writer) error {
	groups, err := lab.Status(c)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	lab.WriteStatus(stdout, addr, groups)
	return nil
}

// connect returns a client of the Nomad to talk to, with its token (see nomadToken),
// checking that it answers.
func connect(getenv func(string) string) (*nomad.Client, string, error) {
	addr := nomadAddr(getenv)
	c, err := nomad.New(addr)
	if err != nil {
		return nil, addr, err
	}
	token, err := nomadToken(getenv, addr)
	if err != nil {
		return nil, addr, err
	}
	c.SetToken(token)
	// The leader's address is the one question Nomad answers without a token.
	if _, err := c.API().Status().Leader(); err != nil {
		return nil, addr, fmt.Errorf("no Nomad at %s: make up (or make cluster) first", addr)
	}
	return c, addr, nil
}

func intentions(args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 0 {
		return usagef("intentions takes no arguments")
	}
	addr := getenv("CONSUL_HTTP_ADDR")
	if addr == "" {
		addr = "http://127.0.0.1:8500"
	}
	if err := consul.ApplyIntentions(addr, getenv("CONSUL_HTTP_TOKEN")); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the mesh's intentions are written to %s.\n", addr)
	return nil
}
