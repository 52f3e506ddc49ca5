package platform

import (
	"os"
	"strings"
	"syscall"
)

// SysmonSetting is the GODEBUG setting the services run with. It is a scheduler trace
// every 2^31-1 ms (24.8 days): the trace itself is all but never printed, but while one
// is due the runtime's monitor thread (sysmon) never goes into its deep sleep.
//
// Why: a service waits on the network most of a request, so its only P is idle again
// and again. Each time, sysmon deep-sleeps; the next system call (every socket read
// and write) wakes it with a futex, and it then polls every 20 µs until the P is idle
// again. At zero delay that was half the worker's thread switches and about a quarter
// of its CPU (BenchmarkRawLoop, 8 workers: 13,469 loops/s without, 19,784 with). With
// the trace due, sysmon polls on its own backoff, settling at every 10 ms; an idle
// service pays for that with 100 wake-ups a second.
//
// The cost: on a host up longer than 24.8 days, the runtime prints one "SCHED" line to
// standard error at start and every 24.8 days after.
const SysmonSetting = "schedtrace=2147483647"

// calmSysmon starts the program again in place (same process, same PID, same name) with
// SysmonSetting added to GODEBUG, which the runtime reads only at start. It returns,
// doing nothing, when GODEBUG already names schedtrace (the operator's choice, or the
// program after its restart) or the restart cannot be made.
func calmSysmon() {
	env, changed := withSysmonSetting(os.Environ())
	if !changed {
		return
	}
	// The binary's own path, not /proc/self/exe: the process's name (ps, top, pkill)
	// is the last element of the path executed.
	exe, err := os.Executable()
	if err != nil {
		return
	}
	syscall.Exec(exe, os.Args, env)
}

// withSysmonSetting returns environ with SysmonSetting added to GODEBUG, and whether
// it added it: not when GODEBUG sets schedtrace already.
func withSysmonSetting(environ []string) ([]string, bool) {
	out := make([]string, 0, len(environ)+1)
	godebug, seen := "", false
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			if !seen { // the runtime reads the first
				godebug, seen = v, true
			}
			continue
		}
		out = append(out, kv)
	}
	for field := range strings.SplitSeq(godebug, ",") {
		if key, _, _ := strings.Cut(field, "="); key == "schedtrace" {
			return environ, false
		}
	}
	if godebug != "" {
		godebug += ","
	}
	return append(out, "GODEBUG="+godebug+SysmonSetting), true
}
