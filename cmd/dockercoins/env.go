package main

import (
	"bufio"
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

// envFile records which stack started last, for scale and status.
func envFile(root string) string { return filepath.Join(root, ".run", "env") }

// saveNomadAddr makes addr the Nomad that scale and status talk to.
func saveNomadAddr(root, addr string) error {
	if err := os.MkdirAll(filepath.Dir(envFile(root)), 0o755); err != nil {
		return err
	}
	return os.WriteFile(envFile(root), []byte("NOMAD_ADDR="+addr+"\n"), 0o644)
}

// forgetNomadAddr drops the record of addr, once its stack is gone.
func forgetNomadAddr(root, addr string) {
	if nomadAddrIn(envFile(root)) == addr {
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
		if a := nomadAddrIn(envFile(dir)); a != "" {
			return a
		}
	}
	return defaultNomad
}

func nomadAddrIn(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "NOMAD_ADDR="); ok {
			return a
		}
	}
	return ""
}
