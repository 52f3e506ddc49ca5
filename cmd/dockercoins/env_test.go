package main

import (
	"os"
	"path/filepath"
	"testing"
)

// scale and status send the token of the stack recorded last to its Nomad only:
// NOMAD_TOKEN wins, and another Nomad gets no token.
func TestNomadTokenOfTheRecordedStack(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := filepath.Join(dir, "nomad-management.token")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const addr = "http://10.199.0.2:4646"
	if err := saveNomadAddr(dir, addr, file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	for _, c := range []struct {
		addr, envToken, want string
	}{
		{addr, "", "s3cret"},
		{addr, "mine", "mine"},
		{"http://127.0.0.1:4646", "", ""},
	} {
		env["NOMAD_TOKEN"] = c.envToken
		got, err := nomadToken(getenv, c.addr)
		if err != nil || got != c.want {
			t.Errorf("token for %s (NOMAD_TOKEN=%q): %q, %v; want %q", c.addr, c.envToken, got, err, c.want)
		}
	}
	if got := nomadAddr(getenv); got != addr {
		t.Errorf("nomadAddr: %q, want the recorded %q", got, addr)
	}
	os.Remove(file) // the cluster is gone
	if got, err := nomadToken(getenv, addr); got != "" || err != nil {
		t.Errorf("token of a stack that is gone: %q, %v", got, err)
	}
	forgetNomadAddr(dir, addr)
	if _, err := os.Stat(envFile(dir)); !os.IsNotExist(err) {
		t.Errorf("the record outlived its stack: %v", err)
	}
}
