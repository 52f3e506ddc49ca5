package testbed

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPUTime reads the user plus system CPU time a process has used, from /proc.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// RSS reads a process's resident set size in bytes, from /proc.
func RSS(pid int) (int64, error) {
	kb, err := procKB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
	return kb[0], err
}

// PSS reads a process's proportional set size in bytes: its resident pages, each page
// it shares divided by how many processes map it. Unlike RSS it adds up: the PSS of a
// node's processes is the memory they take, where the sum of their RSS counts the
// pages of a binary many of them map (Nomad's executors) once per process.
func PSS(pid int) (int64, error) {
	kb, err := procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
	return kb[0], err
}

// MemInUse is the memory the machine's processes and kernel hold, as free(1) counts it:
// MemTotal less MemAvailable.
func MemInUse() (int64, error) {
	kb, err := procKB("/proc/meminfo", "MemTotal:", "MemAvailable:")
	return kb[0] - kb[1], err
}

// procKB reads the "<key> <n> kB" lines of a /proc file, in bytes, in the order of keys.
func procKB(path string, keys ...string) ([]int64, error) {
	out := make([]int64, len(keys))
	b, err := os.ReadFile(path)
	if err != nil {
		return out, err
	}
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		for i, key := range keys {
			if v, ok := strings.CutPrefix(line, key); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				if err != nil {
					return out, fmt.Errorf("%s in %s: %w", key, path, err)
				}
				out[i] = kb * 1024
				found++
			}
		}
	}
	if found < len(keys) {
		return out, fmt.Errorf("not all of %v in %s", keys, path)
	}
	return out, nil
}

// Comm is a process's command name, as /proc/<pid>/comm has it; "" if it is gone.
func Comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}
