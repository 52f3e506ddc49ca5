#!/usr/bin/env bash
# Stops the agents a provisioning script started in the background (the pid files under
# a state folder), Nomad before Consul, then whatever Nomad left running from that folder.
#
#   lab/provision/stop.sh <state folder>...
#
# Stop the jobs first (nomad job stop) so the app shuts down gracefully; this is the
# last resort for tasks that outlived their agent.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

stop_pid() { # pidfile
	local pid
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	if kill -INT "$pid" 2>/dev/null; then
		for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$1"
}

# leftovers <dir>: processes Nomad started for allocations under dir (tasks, executors,
# log collectors), found by the alloc folder in their environment or command line.
leftovers() {
	local dir=$1 p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = $$ ] && continue
		if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -q "^NOMAD_ALLOC_DIR=$dir/" ||
			{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "$dir/alloc/"; then
			echo "${p#/proc/}"
		fi
	done
}

for state in "$@"; do
	[ -d "$state" ] || continue
	state=$(cd "$state" && pwd)
	stop_pid "$state/nomad.pid"
	stop_pid "$state/consul.pid"
	for dir in "$state/nomad" "$state/data/nomad"; do
		pids=$(leftovers "$dir")
		[ -z "$pids" ] && continue
		kill -TERM $pids 2>/dev/null
		sleep 2
		kill -KILL $(leftovers "$dir") 2>/dev/null
	done
done
exit 0
