#!/usr/bin/env bash
# Starts the single-node platform of `make up`: a Consul dev agent and a Nomad dev agent
# (server and client in one, lab/nomad/dev.hcl), and waits until the Nomad client is
# ready. Both keep their state in memory or under the state folder, and stop with
# lab/provision/stop.sh <state folder>.
#
#   lab/provision/dev.sh [bind-ip]
#
# bind-ip defaults to 127.0.0.1: everything, the UIs and the app, on localhost. Another
# address (with its interface as IFACE) runs the same agents on that address, which is
# how the tests run this very script inside a network namespace.
#
# Environment: LAB_STATE (default .run/dev), IFACE (default: the one holding bind-ip).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bind=${1:-127.0.0.1}
state=${LAB_STATE:-$LAB_DIR/../.run/dev}
iface=${IFACE:-$(iface_of "$bind")}
[ -n "$iface" ] || die "no interface holds $bind"
command -v consul >/dev/null || die "consul not found on PATH (make tools)"
command -v nomad >/dev/null || die "nomad not found on PATH (make tools)"
mkdir -p "$state"
state=$(cd "$state" && pwd)
client=127.0.0.1
[ "$bind" = 127.0.0.1 ] || client="127.0.0.1 $bind"

start_agent consul "$state" "$(command -v consul)" agent -dev -log-level info -bind "$bind" -client "$client" \
	-hcl 'dns_config { only_passing = true }'
wait_for "the Consul dev agent" 30 consul members -http-addr "http://$bind:8500"
start_agent nomad "$state" "$(command -v nomad)" agent -dev -bind "$bind" -network-interface "$iface" \
	-data-dir "$state/nomad" -log-level INFO -config "$LAB_DIR/nomad/dev.hcl"
ready() { nomad node status -address "http://$bind:4646" 2>/dev/null | awk 'NR > 1 && $NF == "ready" {ok = 1} END {exit !ok}'; }
wait_for "the Nomad dev agent's client" 60 ready
