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
# /vagrant) is the repository, whose bin/lab/dockercoins (`make build`) sets up the ACLs
# on the server. The ACLs' secrets are in LAB_ACL (default
# /etc/dockercoins-lab/acl.secrets), which the Vagrantfile's acl-secrets provisioner
# installs before this script runs.
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

acl=${LAB_ACL:-/etc/dockercoins-lab/acl.secrets}
[ -r "$acl" ] || { echo "no $acl: provision with the Vagrantfile (its acl-secrets step)" >&2; exit 1; }

# The nomad CLI of whoever logs in finds the node's agent (it listens on the node's
# address only). The tokens are not here: NOMAD_TOKEN and CONSUL_HTTP_TOKEN are
# root's, in /etc/dockercoins-lab/*-management.token on node1.
echo "export NOMAD_ADDR=http://$2:4646" >/etc/profile.d/dockercoins-lab.sh

# systemd runs as PID 1 where this directory exists (a VM, not a container).
init=daemon
[ -d /run/systemd/system ] && init=systemd
# Tasks get addresses on the private network: node.sh finds the interface holding <ip>.
LAB_INIT=$init LAB_ACL=$acl "$repo/lab/provision/node.sh" "$@"
