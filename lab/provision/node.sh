#!/usr/bin/env bash
# Provisions one node of the lab: renders the agent configs of lab/consul and lab/nomad
# for it and, on a VM, starts a Consul agent and a Nomad agent as systemd units. The
# Vagrant lab runs it on each VM; `make cluster` (package lab) runs it in each node's
# network namespace to render the configs only, and starts the agents itself.
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
#   LAB_INIT     none (default: render the configs, print nothing, start nothing),
#                systemd (also start the units dockercoins-consul, dockercoins-nomad) or
#                daemon (also start the agents as background processes logging to
#                <LAB_STATE>/<name>/consul.log and nomad.log: a container, no systemd)
#   LAB_ACL      a secrets file (lab.VagrantSecrets: name=UUID lines, the Vagrant lab's
#                /etc/dockercoins-lab/acl.secrets): the control program (LAB_DOCKERCOINS,
#                default bin/lab/dockercoins of the repository) writes the agents' tokens
#                from it into 0600 files (`dockercoins lab-acl tokens`: every Consul
#                agent's and Nomad's Consul token; a server's Consul also bootstraps its
#                ACLs with consul_management). With LAB_INIT systemd or daemon, a server
#                then runs `dockercoins lab-acl consul` once Consul runs (policies and
#                tokens) and `lab-acl nomad` once Nomad runs (its bootstrap with
#                nomad_management). Without LAB_ACL, the agents get no token here
#                (`make cluster` bootstraps its ACLs itself).
# Both agents' configs always include lab/consul/acl.hcl and lab/nomad/acl.hcl: every
# stack runs with ACLs.
# With systemd or daemon, consul and nomad are taken from PATH.
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
init=${LAB_INIT:-none}
case $init in none | systemd | daemon) ;; *) die "LAB_INIT must be none, systemd or daemon, got $init" ;; esac

mkdir -p "$state/consul.d" "$state/nomad.d" "$DATA_DIR/nomad"
# Nomad would make its data folder 0700; raw_exec tasks run as task_user from their
# allocation folder inside it, so that user must be able to pass through (not list).
chmod 0711 "$DATA_DIR/nomad"
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
# Every stack runs both agents with ACLs: `make cluster` bootstraps them itself.
cp "$LAB_DIR/consul/acl.hcl" "$state/consul.d/acl.hcl"
cp "$LAB_DIR/nomad/acl.hcl" "$state/nomad.d/acl.hcl"
acl=${LAB_ACL:-}
dockercoins=${LAB_DOCKERCOINS:-$LAB_DIR/../bin/lab/dockercoins}
if [ -n "$acl" ]; then
	[ -r "$acl" ] || die "LAB_ACL: cannot read $acl"
	[ -x "$dockercoins" ] || die "$dockercoins not found: run 'make build' on the host first"
	server=false
	[[ $roles != *server* ]] || server=true
	"$dockercoins" lab-acl tokens -file "$acl" -dir "$state" -server="$server"
fi

[ "$init" != none ] || exit 0

command -v consul >/dev/null || die "consul not found on PATH (make tools)"
command -v nomad >/dev/null || die "nomad not found on PATH (make tools)"
start() {
	if [ "$init" = systemd ]; then start_unit "$@"; else start_daemon "$1" "$state" "${@:2}"; fi
}
# A server with ACLs sets them up with the control program, as the agents start.
lab_acl() {
	[ -n "$acl" ] && [[ $roles == *server* ]] || return 0
	"$dockercoins" lab-acl "$@" -file "$acl"
}
consul_ip=${CLIENT_ADDR##* }
consul_http=http://$consul_ip:8500
nomad_http=http://$NODE_IP:4646
# Readiness by the endpoints that answer without a token: Consul's leader (its HTTP API
# is up and, on a client, it has joined a server) and Nomad's health (it has a server).
# The logs are files where there is no systemd.
start consul "$(command -v consul)" agent -config-dir "$state/consul.d"
# A client waits for a server the docker provider boots beside it: the same allowance
# as Nomad's below.
WAIT_LOG=$state/consul.log wait_for "the Consul agent of $NODE_NAME" 120 http_ok "$consul_ip" 8500 /v1/status/leader
lab_acl consul -addr "$consul_http"
start nomad "$(command -v nomad)" agent -config "$state/nomad.d"
# A client may be provisioned while the server still starts (the docker provider runs
# the nodes' provisioning side by side).
WAIT_LOG=$state/nomad.log wait_for "the Nomad agent of $NODE_NAME" 120 http_ok "$NODE_IP" 4646 /v1/agent/health
lab_acl nomad -addr "$nomad_http"
echo "$NODE_NAME ($roles) up at $NODE_IP: Consul $consul_http, Nomad $nomad_http${acl:+, ACLs on}"
