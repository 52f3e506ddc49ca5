#!/usr/bin/env bash
# A multi-node DockerCoins cluster on this one machine (`make cluster NODES=3`): the
# Consul and Nomad servers in the root network namespace, and NODES clients, each in a
# network namespace of its own with its own address, Consul agent and Nomad client, all
# on one bridge. Every node is provisioned by lab/provision/node.sh with the agent
# configs of lab/consul and lab/nomad, as the VMs of the Vagrant lab are. Then the
# redis, jaeger and dockercoins jobs run on it.
#
#   lab/cluster.sh up [nodes]     (default 3, at most 50)
#   lab/cluster.sh down
#
# Environment: LAB_SUBNET (default 10.199.0: bridge and servers at .1, clients at .11,
# .12, ...), LAB_NAME (default dc: bridge dc-br, namespaces dc-n1, dc-n2, ...), and
# LAB_STATE (default .run/cluster). Needs root (ip netns).
set -euo pipefail
cd "$(dirname "$0")/.."
. lab/provision/lib.sh

subnet=${LAB_SUBNET:-10.199.0}
name=${LAB_NAME:-dc}
export LAB_STATE=${LAB_STATE:-$PWD/.run/cluster}
bridge=$name-br
server_ip=$subnet.1
export NOMAD_ADDR=http://$server_ip:4646

up() {
	local nodes=${1:-3} i ns ip
	[[ $nodes =~ ^[0-9]+$ ]] && [ "$nodes" -ge 1 ] && [ "$nodes" -le 50 ] || die "nodes must be 1 to 50, got $nodes"
	[ "$(id -u)" -eq 0 ] || die "needs root for network namespaces"
	if ip link show "$bridge" >/dev/null 2>&1; then
		die "$bridge exists: a cluster is up (lab/cluster.sh down first)"
	fi
	mkdir -p "$LAB_STATE"
	ip link add "$bridge" type bridge
	ip addr add "$server_ip/24" dev "$bridge"
	ip link set "$bridge" up
	# The servers keep to the bridge address: nothing of the cluster on localhost, so a
	# `make up` stack can run beside it.
	CLIENT_ADDR=$server_ip CONSUL_ADDR=$server_ip:8500 lab/provision/node.sh server "$server_ip" "$server_ip" server
	for i in $(seq "$nodes"); do
		ns=$name-n$i ip=$subnet.$((10 + i))
		ip netns add "$ns"
		ip link add "$name-v$i" type veth peer name eth0 netns "$ns"
		ip link set "$name-v$i" master "$bridge" up
		ip -n "$ns" addr add "$ip/24" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" link set lo up
		ip netns exec "$ns" lab/provision/node.sh "n$i" "$ip" "$server_ip" client
	done
	mkdir -p .run && echo "NOMAD_ADDR=$NOMAD_ADDR" >.run/env
	ready() { [ "$(nomad node status 2>/dev/null | awk 'NR > 1 && $NF == "ready"' | wc -l)" -eq "$nodes" ]; }
	wait_for "$nodes ready Nomad clients" 60 ready

	run_job "$LAB_STATE/jobs.log" -detach jobs/redis.nomad.hcl
	run_job "$LAB_STATE/jobs.log" -detach -var jaeger_bin="$(command -v jaeger)" jobs/jaeger.nomad.hcl
	run_job "$LAB_STATE/jobs.log" -var bin_dir="$PWD/bin" jobs/dockercoins.nomad.hcl
	cat <<MSG
Cluster up: the servers at $server_ip and $nodes clients ($subnet.11 ...), DockerCoins running.
  Nomad UI   $NOMAD_ADDR
  Consul UI  http://$server_ip:8500
  webui      $(where webui 8000)
  Jaeger     $(where jaeger-query 16686)
Use it with: export NOMAD_ADDR=$NOMAD_ADDR
  make scale SERVICE=worker COUNT=10     (or: nomad job scale dockercoins worker 10)
  nomad job status dockercoins           (allocations and their nodes)
  dig @$server_ip -p 8600 worker.service.consul SRV
Stop it with: make cluster-down
MSG
}

# where <service> <port>: the URL of a service's first healthy instance.
where() {
	local ip
	ip=$(dig +short @"$server_ip" -p 8600 "$1.service.consul" A 2>/dev/null | head -1)
	echo "http://${ip:-<not yet placed>}:$2"
}

down() {
	local ns nss pids
	# Stopping the jobs first lets the workers flush their count.
	stop_jobs dockercoins jaeger redis
	nss=$(ip netns list | awk -v p="^$name-n[0-9]+$" '$1 ~ p {print $1}')
	# The nodes stop side by side: each agent takes a few seconds to leave.
	for ns in $nss; do
		lab/provision/stop.sh "$LAB_STATE/n${ns##*-n}" &
	done
	wait
	for ns in $nss; do
		# Whatever is left in the namespace goes with it.
		pids=$(ip netns pids "$ns")
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
		ip netns del "$ns"
	done
	lab/provision/stop.sh "$LAB_STATE/server"
	ip link del "$bridge" 2>/dev/null || true
	rm -rf "$LAB_STATE"
	grep -qs "$NOMAD_ADDR" .run/env && rm -f .run/env
	echo "Cluster down."
}

case ${1:-} in
up) up "${2:-3}" ;;
down) down ;;
*) die "usage: $0 up [nodes] | down" ;;
esac
