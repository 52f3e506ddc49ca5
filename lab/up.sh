#!/usr/bin/env bash
# Runs DockerCoins on this machine in the background: Redis, then rng, hasher, worker
# and webui from bin/. State (pids, logs) goes to .run/.
set -euo pipefail
cd "$(dirname "$0")/.."
run=.run
mkdir -p "$run"

start() { # name, then env assignments
	local name=$1
	shift
	if [ -f "$run/$name.pid" ] && kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
		echo "$name already running" >&2
		return
	fi
	env "$@" nohup "bin/$name" >"$run/$name.log" 2>&1 &
	echo $! >"$run/$name.pid"
}

if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
	nohup redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no >"$run/redis.log" 2>&1 &
	echo $! >"$run/redis.pid"
fi
start rng
start hasher
start worker RNG_ADDR=127.0.0.1:8001 HASHER_ADDR=127.0.0.1:8002 REDIS_ADDR=127.0.0.1:6379
start webui REDIS_ADDR=127.0.0.1:6379
cat <<MSG
DockerCoins is running (logs in $run/):
  webui   http://localhost:8000
  rng     http://localhost:8001
  hasher  http://localhost:8002
  redis   localhost:6379
Stop it with: make down
MSG
