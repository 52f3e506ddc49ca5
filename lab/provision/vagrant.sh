#!/usr/bin/env bash
# Provisions one VM of the Vagrant lab (see Vagrantfile): installs what the jobs run
# (redis-server for the Redis job), puts the pinned consul and nomad on PATH, and starts
# the node's agents through lab/provision/node.sh: as systemd units on a VM, as background
# processes in a container of the docker provider (no systemd there).
#
#   lab/provision/vagrant.sh <name> <ip> <server-ip> <roles>
#
# Vagrant uploads this script alone; the rest of lab/ is read from the synced folder.
# TOOLS_DIR (default /opt/dockercoins/cache) holds consul-<version>/consul and
# nomad-<version>/nomad as `make tools` builds them on the host; LAB_REPO (default
# /vagrant) is the repository.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 <name> <ip> <server-ip> <roles>" >&2; exit 2; }
repo=${LAB_REPO:-/vagrant}
tools=${TOOLS_DIR:-/opt/dockercoins/cache}

export DEBIAN_FRONTEND=noninteractive
command -v redis-server >/dev/null || { apt-get update -q && apt-get install -y -q redis-server dnsutils; }
# The Redis job runs its own redis-server; the distribution's must not hold 6379.
systemctl disable --now redis-server 2>/dev/null || true

for tool in consul nomad; do
	bin=$(ls -d "$tools"/$tool-*/$tool 2>/dev/null | sort | tail -1)
	[ -x "$bin" ] || { echo "$tool not found under $tools: run 'make tools' on the host first" >&2; exit 1; }
	install -m 0755 "$bin" /usr/local/bin/$tool
done

# systemd runs as PID 1 where this directory exists (a VM, not a container).
init=daemon
[ -d /run/systemd/system ] && init=systemd
# Tasks get addresses on the private network: node.sh finds the interface holding <ip>.
LAB_INIT=$init "$repo/lab/provision/node.sh" "$@"
