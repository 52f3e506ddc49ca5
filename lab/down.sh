#!/usr/bin/env bash
# `make down`: stops what lab/up.sh started. The jobs first, so every worker flushes its
# count, then the Nomad and Consul agents, then anything they left behind.
set -uo pipefail
cd "$(dirname "$0")/.."
. lab/provision/lib.sh

export NOMAD_ADDR=http://127.0.0.1:4646
state=.run/dev
if [ -f "$state/nomad.pid" ]; then
	stop_jobs dockercoins jaeger redis
fi
lab/provision/stop.sh "$state"
rm -rf "$state"
grep -qs "$NOMAD_ADDR" .run/env && rm -f .run/env
echo "DockerCoins stopped."
