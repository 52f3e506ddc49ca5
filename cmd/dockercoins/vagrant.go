package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/dockercoins/dockercoins/lab"
)

// The Vagrant lab's commands. Its ACL secrets are made on the host by the Vagrantfile
// (lab.VagrantSecrets): the host's tools read the lab's file, node1's provisioning runs
// lab-acl with the node's own copy.

// nodeSecrets is where a node of the Vagrant lab keeps its secrets (the Vagrantfile's
// provisioner puts them there, root's alone).
const nodeSecrets = "/etc/dockercoins-lab/acl.secrets"

// labSecretsFile is the host's file of the lab's secrets: LAB_SECRETS, else the one the
// Vagrantfile keeps in VAGRANT_DOTFILE_PATH (default .vagrant).
func labSecretsFile(getenv func(string) string) string {
	if f := getenv("LAB_SECRETS"); f != "" {
		return f
	}
	return lab.VagrantSecretsFile(getenv("VAGRANT_DOTFILE_PATH"))
}

// labNomadAddr is the lab's Nomad server as the host reaches it: NOMAD_ADDR, else node1
// on the lab's network (LAB_SUBNET, as the Vagrantfile reads it).
func labNomadAddr(getenv func(string) string) string {
	if a := getenv("NOMAD_ADDR"); a != "" {
		return a
	}
	subnet := getenv("LAB_SUBNET")
	if subnet == "" {
		subnet = "192.168.56"
	}
	return "http://" + subnet + ".11:4646"
}

// secrets writes the Vagrant lab's secrets into Nomad's variables, where the jobs find
// them: each service's Consul token, the Redis password and the web UI's Nomad token,
// with the management tokens of the lab's secrets file.
func secrets(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("secrets", flag.ContinueOnError)
	file := fs.String("file", labSecretsFile(getenv), "the lab's secrets, as the Vagrantfile made them")
	scaling := fs.Bool("scaling", false, "give the web UI the token that may scale the job (for -var webui_scaling=true)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sec, err := lab.ReadVagrantSecrets(*file)
	if err != nil {
		return err
	}
	nomadAddr := labNomadAddr(getenv)
	consulAddr := getenv("CONSUL_HTTP_ADDR")
	if consulAddr == "" {
		u, err := url.Parse(nomadAddr)
		if err != nil || u.Hostname() == "" {
			return usagef("secrets: NOMAD_ADDR %q: want http://host:port", nomadAddr)
		}
		consulAddr = "http://" + u.Hostname() + ":8500"
	}
	s, err := lab.VagrantStack(nomadAddr, consulAddr, sec)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	// The leader's address is the one question Nomad answers without a token.
	if _, err := s.Nomad.API().Status().Leader(); err != nil {
		return fmt.Errorf("no Nomad at %s: vagrant up first (or set NOMAD_ADDR)", nomadAddr)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := lab.WriteSecrets(ctx, s); err != nil {
		return err
	}
	if err := lab.WriteWebUIToken(ctx, s, *scaling); err != nil {
		return err
	}
	ui := "reads the job"
	if *scaling {
		ui = "reads and scales the job"
	}
	fmt.Fprintf(stdout, "the jobs' secrets are in Nomad's variables at %s: each service's Consul token (Consul at %s), the Redis password, the web UI's Nomad token (it %s).\n", nomadAddr, consulAddr, ui)
	return nil
}

// labACL sets up the ACLs on a Vagrant lab node as its provisioning starts the agents:
// the token configs of every node before they start (tokens), then on the server
// Consul's policies and tokens once Consul runs, Nomad's bootstrap once Nomad runs, each
// with the node's secrets. The server keeps each management token beside the secrets
// file (0600), for the operator on the node.
func labACL(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "tokens" && args[0] != "consul" && args[0] != "nomad") {
		return usagef("lab-acl: want tokens, consul or nomad, then the flags")
	}
	step := args[0]
	fs := flag.NewFlagSet("lab-acl "+step, flag.ContinueOnError)
	file := fs.String("file", nodeSecrets, "the node's secrets")
	dir := fs.String("dir", "", "tokens: the node's folder of agent configs (consul.d, nomad.d)")
	server := fs.Bool("server", false, "tokens: the node is the lab's server")
	addr := fs.String("addr", map[string]string{"consul": "http://127.0.0.1:8500", "nomad": "http://127.0.0.1:4646"}[step], "consul, nomad: the agent's HTTP address")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	sec, err := lab.ReadVagrantSecrets(*file)
	if err != nil {
		return err
	}
	switch step {
	case "tokens":
		if *dir == "" {
			return usagef("lab-acl tokens: -dir is required")
		}
		if err := lab.WriteVagrantTokens(*dir, sec, *server); err != nil {
			return fmt.Errorf("lab-acl tokens: %s: %w", *file, err)
		}
		return nil
	case "consul":
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := lab.ConfigureVagrantConsul(ctx, *addr, sec); err != nil {
			return fmt.Errorf("lab-acl consul: %w", err)
		}
		fmt.Fprintf(stdout, "consul ACLs at %s: policies, the agents' and Nomad's tokens, dns on the anonymous token\n", *addr)
		return keepToken(*file, lab.ConsulTokenFile, sec.ConsulManagement, stdout)
	default:
		if err := sec.Need("nomad_management"); err != nil {
			return fmt.Errorf("lab-acl nomad: %s: %w", *file, err)
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if _, err := lab.BootstrapNomadWith(ctx, *addr, sec.NomadManagement); err != nil {
			return fmt.Errorf("lab-acl nomad: %w", err)
		}
		fmt.Fprintf(stdout, "nomad ACLs at %s: bootstrapped with the lab's management token\n", *addr)
		return keepToken(*file, lab.NomadTokenFile, sec.NomadManagement, stdout)
	}
}

// keepToken writes a management token into name beside the secrets file (0600).
func keepToken(secrets, name, token string, stdout io.Writer) error {
	keep := filepath.Join(filepath.Dir(secrets), name)
	if err := os.WriteFile(keep, []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the operator's token: sudo cat %s\n", keep)
	return nil
}

// labToken prints one of the Vagrant lab's management tokens, for
// `export NOMAD_TOKEN=$(go run ./cmd/dockercoins lab-token nomad)`.
func labToken(args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "consul" && args[0] != "nomad") {
		return usagef("lab-token: want consul or nomad")
	}
	fs := flag.NewFlagSet("lab-token "+args[0], flag.ContinueOnError)
	file := fs.String("file", labSecretsFile(getenv), "the lab's secrets")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	sec, err := lab.ReadVagrantSecrets(*file)
	if err != nil {
		return err
	}
	name, token := "consul_management", sec.ConsulManagement
	if args[0] == "nomad" {
		name, token = "nomad_management", sec.NomadManagement
	}
	if err := sec.Need(name); err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	fmt.Fprintln(stdout, token)
	return nil
}
