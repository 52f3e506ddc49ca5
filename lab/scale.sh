#!/usr/bin/env bash
# `make scale SERVICE=worker COUNT=10`: sets how many instances of one of DockerCoins'
# services run, with `nomad job scale`, on the stack `make up` or `make cluster` started
# last (or the one NOMAD_ADDR names).
set -euo pipefail
cd "$(dirname "$0")/.."
. lab/provision/lib.sh

service=${1:-} count=${2:-}
case $service in rng | hasher | worker | webui) ;; *) die "SERVICE must be rng, hasher, worker or webui, got '$service'" ;; esac
[[ $count =~ ^[0-9]+$ ]] || die "COUNT must be a whole number, got '$count'"
if [ -z "${NOMAD_ADDR:-}" ] && [ -f .run/env ]; then
	export "$(cat .run/env)"
fi
nomad agent-info >/dev/null 2>&1 || die "no Nomad at ${NOMAD_ADDR:-http://127.0.0.1:4646}: make up (or make cluster) first"
nomad job scale dockercoins "$service" "$count"
