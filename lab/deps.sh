#!/usr/bin/env bash
# Installs the Debian packages DockerCoins uses, once.
#
#   lab/deps.sh up     what `make up`, `make cluster` and `make bench` run on (default)
#   lab/deps.sh test   that, and what only the tests use
set -euo pipefail
set_=${1:-up}
case $set_ in
up | test) ;;
*) echo "usage: lab/deps.sh [up|test]" >&2; exit 2 ;;
esac
need=()
want() { command -v "$1" >/dev/null || need+=("${@:2}"); }
want redis-server redis-server # the redis job runs the host's redis-server
want ip iproute2               # make cluster's network namespaces
want dig dnsutils              # asking Consul DNS, as the README does
if [ "$set_" = test ]; then
	want chromium chromium fonts-liberation # the web UI's browser tests, and text in their screenshots
	want vagrant vagrant               # the Vagrant lab's tests
	want dockerd docker.io             # the Compose stack and Nomad's docker driver (the tests start dockerd if none runs)
	want docker-compose docker-compose # Compose v1, as the workshop types it
	want httping httping               # the workshop's latency exercise
	want debootstrap debootstrap debian-archive-keyring # the Vagrant lab's node image
fi
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing ${need[*]} with apt..." >&2
start=$(date +%s)
$sudo apt-get update -q >/dev/null
# Without recommends: vagrant's alone pull in libvirt, QEMU and a kernel (2,000 packages).
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
echo "installed ${need[*]} in $(($(date +%s) - start))s" >&2
