#!/usr/bin/env bash
# Stops what lab/up.sh started, gracefully: the worker flushes its count first.
set -uo pipefail
cd "$(dirname "$0")/.."
for pidfile in .run/*.pid; do
	[ -e "$pidfile" ] || continue
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	rm -f "$pidfile"
done
echo "DockerCoins stopped."
