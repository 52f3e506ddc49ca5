#!/usr/bin/env bash
# Provisions one node of the lab: renders the agent configs of lab/consul and lab/nomad
# for it and starts a Consul agent and a Nomad agent. `make cluster` runs it once for the
# server (in the root network namespace) and once per client (each in its own network
# namespace); the Vagrant lab runs it on each VM.
#
#   lab/provision/node.sh <name> <ip> <server-ip> [roles]
#
# roles: client (default: a Consul client agent and a Nomad client), server (the Consul
# server and a Nomad server), or server,client (one VM that is both: the Consul server is
# then its local agent, and one Nomad agent is server and client).
#
# Environment:
#   LAB_STATE    where configs, data, logs and pid files go (default /var/lib/dockercoins-lab);
#                each node uses <LAB_STATE>/<name>
#   CLIENT_ADDR  where the Consul agent serves HTTP and DNS (default "127.0.0.1 <ip>")
#   CONSUL_ADDR  the Consul HTTP address the Nomad agent uses (default 127.0.0.1:8500)
#   IFACE        the interface Nomad gives tasks addresses on (default: the one holding <ip>)
#   LAB_INIT     background (default: pid files) or systemd (units dockercoins-consul,
#                dockercoins-nomad)
# consul and nomad are taken from PATH.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || die "usage: $0 <name> <ip> <server-ip> [client|server|server,client]"
NODE_NAME=$1 NODE_IP=$2 SERVER_IP=$3 roles=${4:-client}
case $roles in client | server | server,client | client,server) ;; *) die "unknown roles: $roles" ;; esac
state=${LAB_STATE:-/var/lib/dockercoins-lab}/$NODE_NAME
DATA_DIR=$state/data
CLIENT_ADDR=${CLIENT_ADDR:-127.0.0.1 $NODE_IP}
CONSUL_ADDR=${CONSUL_ADDR:-127.0.0.1:8500}
IFACE=${IFACE:-$(iface_of "$NODE_IP")}
[ -n "$IFACE" ] || die "no interface holds $NODE_IP"
command -v consul >/dev/null || die "consul not found on PATH (make tools)"
command -v nomad >/dev/null || die "nomad not found on PATH (make tools)"

mkdir -p "$state/consul.d" "$state/nomad.d" "$DATA_DIR"
rm -f "$state"/consul.d/*.hcl "$state"/nomad.d/*.hcl
render "$LAB_DIR/consul/agent.hcl" "$state/consul.d/agent.hcl"
render "$LAB_DIR/nomad/agent.hcl" "$state/nomad.d/agent.hcl"
if [[ $roles == *server* ]]; then
	render "$LAB_DIR/consul/server.hcl" "$state/consul.d/server.hcl"
	render "$LAB_DIR/nomad/server.hcl" "$state/nomad.d/server.hcl"
else
	render "$LAB_DIR/consul/client.hcl" "$state/consul.d/client.hcl"
fi
if [[ $roles == *client* ]]; then
	render "$LAB_DIR/nomad/client.hcl" "$state/nomad.d/client.hcl"
fi

start_agent consul "$state" "$(command -v consul)" agent -config-dir "$state/consul.d"
consul_http=http://${CLIENT_ADDR##* }:8500
wait_for "the Consul agent of $NODE_NAME" 30 consul members -http-addr "$consul_http"
start_agent nomad "$state" "$(command -v nomad)" agent -config "$state/nomad.d"
wait_for "the Nomad agent of $NODE_NAME" 30 nomad agent-info -address "http://$NODE_IP:4646"
echo "$NODE_NAME ($roles) up at $NODE_IP: Consul $consul_http, Nomad http://$NODE_IP:4646"
