package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// defaultNomad is where `make up`'s Nomad answers.
const defaultNomad = "http://127.0.0.1:4646"

// root is the repository's top folder: the working directory, which must hold the
// job files.
func root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "jobs", "dockercoins.nomad.hcl")); err != nil {
		return "", fmt.Errorf("run this from the DockerCoins repository's top folder (no jobs/dockercoins.nomad.hcl in %s)", dir)
	}
	return dir, nil
}

// envFile records which stack started last, for scale and status: its NOMAD_ADDR and,
// where Nomad's ACLs are on, NOMAD_TOKEN_FILE, the file holding its management token.
func envFile(root string) string { return filepath.Join(root, ".run", "env") }

// saveNomadAddr makes addr the Nomad that scale and status talk to, with the token in
// tokenFile ("": none).
func saveNomadAddr(root, addr, tokenFile string) error {
	if err := os.MkdirAll(filepath.Dir(envFile(root)), 0o755); err != nil {
		return err
	}
	rec := "NOMAD_ADDR=" + addr + "\n"
	if tokenFile != "" {
		rec += "NOMAD_TOKEN_FILE=" + tokenFile + "\n"
	}
	return os.WriteFile(envFile(root), []byte(rec), 0o644)
}

// forgetNomadAddr drops the record of addr, once its stack is gone.
func forgetNomadAddr(root, addr string) {
	if readEnv(envFile(root))["NOMAD_ADDR"] == addr {
		os.Remove(envFile(root))
	}
}

// nomadAddr is the Nomad to talk to: NOMAD_ADDR, else the stack started last, else
// `make up`'s.
func nomadAddr(getenv func(string) string) string {
	if a := getenv("NOMAD_ADDR"); a != "" {
		return a
	}
	if dir, err := os.Getwd(); err == nil {
		if a := readEnv(envFile(dir))["NOMAD_ADDR"]; a != "" {
			return a
		}
	}
	return defaultNomad
}

// nomadToken is the ACL token to send to the Nomad at addr: NOMAD_TOKEN, else the
// management token of the stack recorded for addr, else none.
func nomadToken(getenv func(string) string, addr string) (string, error) {
	if t := getenv("NOMAD_TOKEN"); t != "" {
		return t, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", nil
	}
	rec := readEnv(envFile(dir))
	if rec["NOMAD_ADDR"] != addr || rec["NOMAD_TOKEN_FILE"] == "" {
		return "", nil
	}
	b, err := os.ReadFile(rec["NOMAD_TOKEN_FILE"])
	if errors.Is(err, os.ErrNotExist) {
		return "", nil // the stack is gone: connect says so
	}
	if err != nil {
		return "", fmt.Errorf("the Nomad token of %s: %w", addr, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// readEnv reads the NAME=value lines of file.
func readEnv(file string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(file)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			out[k] = v
		}
	}
	return out
}
