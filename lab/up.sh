#!/usr/bin/env bash
# `make up`: DockerCoins on this machine on real agents. A Consul dev agent and a Nomad
# dev agent (lab/provision/dev.sh), then the redis, jaeger and dockercoins jobs, each
# waited for until its deployment is healthy. Everything listens on localhost: the web
# UI on its fixed port 8000, Jaeger on 4318 and 16686, the rest on ports Nomad picks.
# State (agent logs, pid files) goes to .run/dev; `make down` stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
. lab/provision/lib.sh

export NOMAD_ADDR=http://127.0.0.1:4646
state=.run/dev
mkdir -p "$state"
# Another Consul or Nomad on the ports the dev agents need would be mistaken for them.
if [ ! -f "$state/consul.pid" ] && consul members -http-addr http://127.0.0.1:8500 >/dev/null 2>&1; then
	die "a Consul agent not started by make up answers on 127.0.0.1:8500; stop it first"
fi
if [ ! -f "$state/nomad.pid" ] && nomad agent-info >/dev/null 2>&1; then
	die "a Nomad agent not started by make up answers on 127.0.0.1:4646; stop it first"
fi
echo "starting the Consul and Nomad dev agents..."
LAB_STATE=$state lab/provision/dev.sh
echo "NOMAD_ADDR=$NOMAD_ADDR" >.run/env

# The mesh (MESH=true, the default): deny by default, allow what DockerCoins needs.
mesh=${MESH:-true}
if [ "$mesh" = true ]; then
	echo "applying the mesh's intentions (mesh/intentions)..."
	for f in mesh/intentions/*.json; do
		consul config write -http-addr http://127.0.0.1:8500 "$f" >/dev/null
	done
fi

echo "running the redis, jaeger and dockercoins jobs..."
log=$state/jobs.log
run_job "$log" -var mesh="$mesh" -var consul_bin="$(command -v consul)" jobs/redis.nomad.hcl
run_job "$log" -var jaeger_bin="$(command -v jaeger)" jobs/jaeger.nomad.hcl
run_job "$log" -var bin_dir="$PWD/bin" -var otel_endpoint=http://127.0.0.1:4318 \
	-var jaeger_query_url=http://127.0.0.1:16686 -var mesh="$mesh" jobs/dockercoins.nomad.hcl
cat <<MSG
DockerCoins is running on Nomad (agent logs in $state/):
  webui      http://localhost:8000
  Consul UI  http://localhost:8500
  Nomad UI   http://localhost:4646
  Jaeger     http://localhost:16686
Mesh:       $mesh (Consul Connect mTLS + intentions; make up MESH=false for plain HTTP)
Scale it:   make scale SERVICE=worker COUNT=10   (nomad job scale dockercoins worker 10)
Find it:    dig @127.0.0.1 -p 8600 rng.service.consul SRV
Stop it:    make down
MSG
