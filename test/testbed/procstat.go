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
	return procKB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
}

// PSS reads a process's proportional set size in bytes: its resident pages, each page
// it shares divided by how many processes map it. Unlike RSS it adds up: the PSS of a
// node's processes is the memory they take, where the sum of their RSS counts the
// pages of a binary many of them map (Nomad's executors) once per process.
func PSS(pid int) (int64, error) {
	return procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
}

// MemInUse is the memory the machine's processes and kernel hold, as free(1) counts it:
// MemTotal less MemAvailable.
func MemInUse() (int64, error) {
	total, err := procKB("/proc/meminfo", "MemTotal:")
	if err != nil {
		return 0, err
	}
	avail, err := procKB("/proc/meminfo", "MemAvailable:")
	return total - avail, err
}

// procKB reads a "<key> <n> kB" line of a /proc file, in bytes.
func procKB(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in %s", key, path)
}

// Comm is a process's command name, as /proc/<pid>/comm has it; "" if it is gone.
func Comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}
