# Shared by the provisioning scripts (sourced, not run): rendering the agent configs of
# lab/consul and lab/nomad for one node, and starting an agent.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# render <template> <out>: copies a config file, filling in @NODE_NAME@, @NODE_IP@,
# @SERVER_IP@, @DATA_DIR@, @CLIENT_ADDR@, @CONSUL_ADDR@ and @IFACE@ from the variables
# of the same names.
render() {
	local src=$1 out=$2
	sed -e "s|@NODE_NAME@|$NODE_NAME|g" -e "s|@NODE_IP@|$NODE_IP|g" \
		-e "s|@SERVER_IP@|$SERVER_IP|g" -e "s|@DATA_DIR@|$DATA_DIR|g" \
		-e "s|@CLIENT_ADDR@|$CLIENT_ADDR|g" -e "s|@CONSUL_ADDR@|$CONSUL_ADDR|g" \
		-e "s|@IFACE@|$IFACE|g" "$src" >"$out.tmp"
	if grep -q '@[A-Z_]*@' "$out.tmp"; then
		die "$src: unknown placeholder $(grep -o '@[A-Z_]*@' "$out.tmp" | head -1)"
	fi
	mv "$out.tmp" "$out"
}

# iface_of <ip>: the network interface that holds ip.
iface_of() {
	ip -o -4 addr show | awk -v ip="$1" '{split($4, a, "/"); if (a[1] == ip) {print $2; exit}}'
}

# start_agent <name> <state dir> <command...>: runs an agent in the background, its pid
# in <state dir>/<name>.pid and its output in <state dir>/<name>.log, or, with
# LAB_INIT=systemd (the Vagrant lab), as a systemd unit dockercoins-<name>.
start_agent() {
	local name=$1 state=$2
	shift 2
	if [ "${LAB_INIT:-background}" = systemd ]; then
		cat >"/etc/systemd/system/dockercoins-$name.service" <<UNIT
[Unit]
Description=DockerCoins lab: $name agent
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=$*
# SIGINT lets the agent leave gracefully; only the agent is stopped, not the tasks
# Nomad runs, which a restarted client adopts again.
KillSignal=SIGINT
KillMode=process
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
		systemctl daemon-reload
		systemctl enable --now "dockercoins-$name.service"
		return
	fi
	local pidfile=$state/$name.pid
	if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		echo "$name agent already running (pid $(cat "$pidfile"))" >&2
		return
	fi
	setsid nohup "$@" >"$state/$name.log" 2>&1 </dev/null &
	echo $! >"$pidfile"
}

# wait_for <what> <seconds> <command...>: retries a command until it succeeds.
wait_for() {
	local what=$1 secs=$2
	shift 2
	for _ in $(seq $((secs * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	die "timed out after ${secs}s waiting for $what"
}

# stop_jobs <job...>: stops jobs through NOMAD_ADDR, as `nomad job stop` does, and waits
# (up to 60 s) until none of their allocations runs, so the workers have flushed.
stop_jobs() {
	local job
	nomad agent-info >/dev/null 2>&1 || return 0
	for job in "$@"; do nomad job stop "$job" >/dev/null 2>&1 || true; done
	running() {
		for job in "$@"; do
			nomad job allocs -t '{{range .}}{{if or (eq .ClientStatus "running") (eq .ClientStatus "pending")}}x{{end}}{{end}}' "$job" 2>/dev/null
		done
	}
	for _ in $(seq 120); do
		[ -z "$(running "$@")" ] && return 0
		sleep 0.5
	done
	echo "some allocations of $* still run after 60s" >&2
}

# run_job <log> <nomad job run arguments...>: runs a job, its output appended to log and
# shown only if it fails.
run_job() {
	local log=$1
	shift
	nomad job run "$@" >>"$log" 2>&1 || {
		tail -30 "$log" >&2
		die "nomad job run $* failed (all output in $log)"
	}
}
