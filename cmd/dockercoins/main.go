// Command dockercoins runs DockerCoins on this machine: the single-node Consul and
// Nomad stack of `make up`, the multi-node lab of `make cluster`, and the app's jobs on
// either. The Makefile's up, down, scale, status, cluster and cluster-down targets call
// it; run it from the repository's top folder.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockercoins:", err)
		os.Exit(exitCode(err))
	}
}

// usageError is a command line that makes no sense; it exits 2.
type usageError struct{ error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func exitCode(err error) int {
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

const usage = `usage: dockercoins <command> [arguments]

  up [-mesh=true] [-driver D] Consul and Nomad dev agents on localhost, then the app
                             (D: docker, exec or raw_exec; default the best available)
  down                       stop what up started
  scale <service> <count>    set how many rng, hasher, worker or webui instances run
  status                     each group's instances and nodes, and the URLs
  cluster up [-nodes 3]      a server and client nodes in network namespaces, then the app (root)
  cluster down               stop what cluster up started
  intentions                 write the mesh's intentions to Consul (CONSUL_HTTP_ADDR, with an operator CONSUL_HTTP_TOKEN)
  secrets [-file F] [-scaling]
                             the Vagrant lab's jobs' secrets into Nomad's variables: each service's
                             Consul token, the Redis password, the web UI's Nomad token (F: the lab's
                             secrets, default $VAGRANT_DOTFILE_PATH or .vagrant, /dockercoins-lab.secrets;
                             NOMAD_ADDR, default http://$LAB_SUBNET.11:4646; CONSUL_HTTP_ADDR, default its host:8500)
  lab-token consul|nomad [-file F]
                             print the Vagrant lab's Consul or Nomad management token
  lab-acl tokens -dir D [-server] [-file F] | consul|nomad [-file F] [-addr URL]
                             on a Vagrant lab node, as it is provisioned: the agents' token configs
                             (every node), then Consul's policies and tokens, or Nomad's ACL
                             bootstrap (the server), with the node's secrets (default
                             /etc/dockercoins-lab/acl.secrets)
  chaos [-faults a,b] [...]  a cluster of its own, faults injected while mining, the count checked (root)
  node-image                 build the Vagrant lab's node image for the docker provider (root)
  images                     build the images docker-compose.yml names, locally (cached in ~/.cache/dockercoins/images)
  compose-secrets -redis-addr IP:PORT [-dir /secrets]
                             docker-compose.yml's secrets job: the Redis password, Consul's ACLs
                             and each service's token into its own volume (CONSUL_HTTP_ADDR)
  compose-token [-dir /secrets]
                             print the Consul operator token the secrets job kept

scale and status talk to NOMAD_ADDR, else to whichever of up or cluster up ran last.
`

// run carries out one command line; stdout gets progress and results.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("no command\n%s", usage)
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "up":
		return up(ctx, args, stdout)
	case "down":
		return down(ctx, args, stdout)
	case "scale":
		return scale(ctx, args, getenv, stdout)
	case "status":
		return status(args, getenv, stdout)
	case "cluster":
		return cluster(ctx, args, stdout)
	case "intentions":
		return intentions(args, getenv, stdout)
	case "secrets":
		return secrets(ctx, args, getenv, stdout)
	case "lab-token":
		return labToken(args, getenv, stdout)
	case "lab-acl":
		return labACL(ctx, args, stdout)
	case "chaos":
		return chaos(ctx, args, stdout)
	case "node-image":
		return nodeImage(ctx, args, stdout)
	case "images":
		return images(ctx, args, stdout)
	case "compose-secrets":
		return composeSecrets(ctx, args, getenv, stdout)
	case "compose-token":
		return composeToken(args, stdout)
	}
	return usagef("unknown command %q\n%s", cmd, usage)
}
