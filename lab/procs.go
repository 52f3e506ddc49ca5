package lab

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// allPids lists the processes of the machine but this one.
func allPids() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid runs; a zombie does not.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// environ is the environment pid was started with, its NUL-separated entries led by a
// NUL too, so that envHas finds an entry from its start; empty if it cannot be read.
func environ(pid int) []byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return nil
	}
	return append([]byte{0}, b...)
}

// envHas reports whether env (from environ) holds an entry starting with prefix, such
// as "NAME=" or "NAME=value\x00".
func envHas(env []byte, prefix string) bool {
	return len(env) > 0 && bytes.Contains(env, []byte("\x00"+prefix))
}

// HasEnv reports whether process pid was started with the environment variable name.
func HasEnv(pid int, name string) bool { return envHas(environ(pid), name+"=") }
