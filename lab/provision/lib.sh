# Shared by the provisioning scripts (sourced, not run): rendering the agent configs of
# lab/consul and lab/nomad for one node, and starting an agent as a systemd unit or, where
# there is no systemd (a container), as a background process.

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

# start_unit <name> <command...>: runs an agent as the systemd unit dockercoins-<name>
# (the Vagrant lab).
start_unit() {
	local name=$1
	shift
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
}

# start_daemon <name> <dir> <command...>: runs an agent in the background, in a session
# of its own so it outlives the provisioning SSH session, logging to <dir>/<name>.log
# (the Vagrant lab on the docker provider, where there is no systemd). An agent it
# started before (<dir>/<name>.pid) is stopped first, so provisioning again restarts it.
start_daemon() {
	local name=$1 dir=$2
	shift 2
	local pidfile=$dir/$name.pid pid
	if pid=$(cat "$pidfile" 2>/dev/null) && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$(basename "$1")" ]; then
		kill -INT "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# Not a process group leader, so setsid makes the new session without forking:
	# $! is the agent itself.
	setsid "$@" >>"$dir/$name.log" 2>&1 </dev/null &
	echo $! >"$pidfile"
}

# http_ok <host> <port> <path>: whether a GET of path answers 200 (bash's /dev/tcp: a
# node needs no curl). It waits at most 5 s for the answer.
http_ok() {
	local status
	{
		printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&3
		read -r -t 5 _ status _ <&3
	} 3<>"/dev/tcp/$1/$2" || return 1
	[ "$status" = 200 ]
}

# wait_for <what> <seconds> <command...>: retries a command until it succeeds. On a
# timeout it shows the last lines of $WAIT_LOG, if set: what the agent said.
wait_for() {
	local what=$1 secs=$2
	shift 2
	for _ in $(seq $((secs * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	[ ! -r "${WAIT_LOG:-}" ] || tail -n 20 "$WAIT_LOG" >&2
	die "timed out after ${secs}s waiting for $what"
}
