package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// The host's commands find the lab as the Vagrantfile keeps it: the secrets under
// VAGRANT_DOTFILE_PATH (else .vagrant), node1 on LAB_SUBNET; LAB_SECRETS and NOMAD_ADDR win.
func TestLabDefaults(t *testing.T) {
	for _, c := range []struct {
		env         map[string]string
		file, nomad string
	}{
		{nil, ".vagrant/dockercoins-lab.secrets", "http://192.168.56.11:4646"},
		{map[string]string{"VAGRANT_DOTFILE_PATH": "/tmp/lab", "LAB_SUBNET": "10.198.1"}, "/tmp/lab/dockercoins-lab.secrets", "http://10.198.1.11:4646"},
		{map[string]string{"VAGRANT_DOTFILE_PATH": "/tmp/lab", "LAB_SECRETS": "/s", "LAB_SUBNET": "10.198.1", "NOMAD_ADDR": "http://n:4646"}, "/s", "http://n:4646"},
	} {
		if got := labSecretsFile(envOf(c.env)); got != c.file {
			t.Errorf("%v: secrets file %s, want %s", c.env, got, c.file)
		}
		if got := labNomadAddr(envOf(c.env)); got != c.nomad {
			t.Errorf("%v: Nomad %s, want %s", c.env, got, c.nomad)
		}
	}
}

// lab-token prints the one token asked for, from the lab's file, and says which is
// missing from a node's share.
func TestLabToken(t *testing.T) {
	dir := t.TempDir()
	const consul, nomad = "0f8e3a52-6c1d-4b7e-9a2f-3d5c7e9b1a24", "7a1c9e3f-2b4d-4f6a-8c0e-1d3f5a7b9c2e"
	full := filepath.Join(dir, "dockercoins-lab.secrets")
	if err := os.WriteFile(full, []byte("consul_management="+consul+"\nnomad_management="+nomad+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := envOf(map[string]string{"VAGRANT_DOTFILE_PATH": dir})
	for agent, want := range map[string]string{"consul": consul, "nomad": nomad} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"lab-token", agent}, getenv, &out); err != nil {
			t.Fatal(err)
		}
		if out.String() != want+"\n" {
			t.Errorf("lab-token %s printed %q", agent, out.String())
		}
	}
	share := filepath.Join(dir, "node2.secrets")
	if err := os.WriteFile(share, []byte("consul_agent="+consul+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"lab-token", "nomad", "-file", share}, getenv, new(bytes.Buffer))
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "no nomad_management") {
		t.Errorf("lab-token nomad from a client's share: %v", err)
	}
}

// secrets without the lab's file says how it comes to be, before asking any Nomad.
func TestSecretsNeedTheLabsFile(t *testing.T) {
	getenv := envOf(map[string]string{"VAGRANT_DOTFILE_PATH": t.TempDir(), "NOMAD_ADDR": "http://127.0.0.1:1"})
	err := run(context.Background(), []string{"secrets"}, getenv, new(bytes.Buffer))
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "vagrant up makes them") {
		t.Fatalf("secrets without a lab: %v", err)
	}
}
