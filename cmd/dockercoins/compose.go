package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/dockercoins/dockercoins/lab"
)

// composeSecrets is the secrets job of docker-compose.yml (its one-shot `secrets`
// service): the Redis password, Consul's ACLs and each service's token, into the
// volumes mounted under -dir (lab.ComposeSecrets).
func composeSecrets(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compose-secrets", flag.ContinueOnError)
	dir := fs.String("dir", "/secrets", "where the holders' volumes are mounted, one folder each")
	redisAddr := fs.String("redis-addr", "", "Redis's ip:port, registered in Consul")
	appUID := fs.Int("app-uid", 65532, "the user the app images run as (-1: the job's own)")
	redisUID := fs.Int("redis-uid", 999, "the user the Redis image runs as (-1: the job's own)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*redisAddr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n <= 0 || n > 65535 || net.ParseIP(host) == nil {
		return usagef("compose-secrets: -redis-addr %q: want ip:port, e.g. 10.211.0.10:6379", *redisAddr)
	}
	if *appUID < -1 || *redisUID < -1 {
		return usagef("compose-secrets: a uid is -1 or more")
	}
	addr := getenv("CONSUL_HTTP_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8500"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c := lab.ComposeSecrets{ConsulAddr: addr, Dir: *dir, RedisAddr: *redisAddr, AppUID: *appUID, RedisUID: *redisUID}
	if err := c.Write(ctx, stdout); err != nil {
		return fmt.Errorf("compose-secrets: %w", err)
	}
	fmt.Fprintln(stdout, "the operator's Consul token: docker-compose run --rm -T secrets compose-token")
	return nil
}

// composeToken prints the Consul management token the secrets job kept, for
// `export CONSUL_HTTP_TOKEN=$(docker-compose run --rm -T secrets compose-token)`.
func composeToken(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compose-token", flag.ContinueOnError)
	dir := fs.String("dir", "/secrets", "where the secrets job's volumes are mounted")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	token, err := lab.ReadComposeOperatorToken(*dir)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}
