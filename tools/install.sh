#!/usr/bin/env bash
# Provides Consul, Nomad and Jaeger at versions DockerCoins works with.
#
# A binary already on PATH at a compatible version is used as it is (see compatible
# below); otherwise the pinned version is built from the Go module proxy through the
# wrapper module beside this script (tools/<name>/go.mod, whose committed go.sum is what
# the build verifies against) into a cache outside the repo. The builds that are needed
# run side by side, each printing its progress, so their downloads and their long
# single-threaded links overlap. Prints the folder that holds all three, for PATH.
#
#   tools/install.sh [consul|nomad|jaeger ...]     (default: all three)
#   tools/install.sh -where NAME                   where NAME is, or will be once built
#
# -where builds nothing: it links a cached or compatible binary as the install does and
# prints its path, or prints the path the pin's build will have. `make up` runs the app
# before Jaeger is built and has Nomad's exec chroot name Jaeger by that path.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DOCKERCOINS_CACHE:-$HOME/.cache/dockercoins}
bin=$cache/bin
mkdir -p "$bin"

version_of() {
	case $1 in
	consul) echo 1.21.0 ;;
	nomad) echo 1.10.5 ;;
	jaeger) echo 1.76.0 ;;
	*) return 1 ;;
	esac
}

package_of() {
	case $1 in
	consul) echo github.com/hashicorp/consul ;;
	nomad) echo github.com/hashicorp/nomad ;;
	jaeger) echo github.com/jaegertracing/jaeger/cmd/jaeger ;;
	esac
}

# compatible reports whether the binary at path will do in place of the pin:
#  - Consul 1.x from 1.21 and Nomad 1.x from 1.10: the pinned minor is what the lab's
#    agent configs, the jobs and the API clients (consul/api v1.34, nomad/api of 1.10.5)
#    are tested against, and both keep their HTTP APIs and configs within a major
#    version; an older minor lacks what they use, a 2.x may drop it.
#  - Jaeger: any build that accepts lab/jaeger/config.yaml (`jaeger validate`). Builds
#    from the module proxy carry no version to compare; the config, which picks the v2
#    extensions the stack uses, is the real requirement, and the query API the tests
#    read has been stable through v2.
compatible() {
	local name=$1 path=$2 v
	case $name in
	consul | nomad)
		v=$("$path" version 2>/dev/null | head -1 | sed -n 's/^[A-Za-z]* v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p')
		[ -n "$v" ] || return 1
		set -- $v
		local min=21
		[ "$name" = nomad ] && min=10
		[ "$1" -eq 1 ] && [ "$2" -ge "$min" ]
		;;
	jaeger)
		"$path" validate --config "file:$here/../lab/jaeger/config.yaml" >/dev/null 2>&1
		;;
	esac
}

# use_from_path links a compatible binary found outside the cache.
use_from_path() {
	local name=$1 found
	found=$(PATH=$(echo "$PATH" | tr ':' '\n' | grep -vx "$bin" | paste -sd:) command -v "$name" || true)
	[ -n "$found" ] && compatible "$name" "$found" || return 1
	ln -sf "$found" "$bin/$name"
	echo "using $found ($("$found" version 2>/dev/null | head -1))" >&2
}

# start_build builds the pin in the background; its log is kept beside the binary.
start_build() {
	local name=$1 version out
	version=$(version_of "$name")
	out=$cache/$name-$version
	mkdir -p "$out"
	echo "building $name v$version from the Go module proxy (log: $out/build.log)" >&2
	# Jaeger is built static: the exec chroot may be written before it exists, so it
	# cannot list the libraries Jaeger would load.
	local cgo=${CGO_ENABLED:-}
	[ "$name" = jaeger ] && cgo=0
	(cd "$here/$name" && GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=$cgo \
		go build -trimpath -ldflags='-s -w' -o "$out/$name.tmp" "$(package_of "$name")") >"$out/build.log" 2>&1 &
	pids[$name]=$!
}

# finish_build installs a finished build, or shows why it failed.
finish_build() {
	local name=$1 out
	out=$cache/$name-$(version_of "$name")
	if ! wait "${pids[$name]}"; then
		echo "building $name failed; the end of $out/build.log:" >&2
		tail -20 "$out/build.log" >&2
		return 1
	fi
	mv "$out/$name.tmp" "$out/$name"
	ln -sf "$out/$name" "$bin/$name"
	echo "built $name in $(($(date +%s) - start))s" >&2
}

# provided links the pin built earlier, or a compatible binary on PATH, into the bin
# folder; it fails when the tool must be built.
provided() {
	local out=$cache/$1-$(version_of "$1")
	if [ -x "$out/$1" ]; then
		ln -sf "$out/$1" "$bin/$1"
	else
		use_from_path "$1"
	fi
}

if [ "${1:-}" = -where ]; then
	[ $# -eq 2 ] && version_of "$2" >/dev/null || { echo "usage: tools/install.sh -where consul|nomad|jaeger" >&2; exit 2; }
	if provided "$2" 2>/dev/null; then
		readlink "$bin/$2"
	else
		echo "$cache/$2-$(version_of "$2")/$2"
	fi
	exit 0
fi

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(consul nomad jaeger)
declare -A pids=()
todo=()
for n in "${names[@]}"; do
	version_of "$n" >/dev/null || { echo "unknown tool: $n (want consul, nomad or jaeger)" >&2; exit 2; }
	provided "$n" || todo+=("$n")
done

# Each build takes about 1.5 GB at its peak: run as many at once as memory allows.
avail=$(awk '/MemAvailable/ {print int($2 / 1572864)}' /proc/meminfo 2>/dev/null || echo 1)
slots=$((avail < 1 ? 1 : avail))
start=$(date +%s)
# Measured on 2 idle cores: Consul and Nomad side by side 5.7 min, Jaeger alone 2.7,
# all three side by side 9.3.
[ ${#todo[@]} -eq 0 ] || echo "building ${todo[*]} ($((slots < ${#todo[@]} ? slots : ${#todo[@]})) at a time; 3 to 10 minutes on 2 idle cores)" >&2
failed=0
reported=0
queue=("${todo[@]}")
running=()
while [ ${#queue[@]} -gt 0 ] || [ ${#running[@]} -gt 0 ]; do
	while [ ${#queue[@]} -gt 0 ] && [ ${#running[@]} -lt "$slots" ]; do
		start_build "${queue[0]}"
		running+=("${queue[0]}")
		queue=("${queue[@]:1}")
	done
	sleep 5
	still=()
	for n in "${running[@]}"; do
		if kill -0 "${pids[$n]}" 2>/dev/null; then
			still+=("$n")
		else
			finish_build "$n" || failed=1
		fi
	done
	running=("${still[@]}")
	elapsed=$(($(date +%s) - start))
	if [ ${#running[@]} -gt 0 ] && [ $((elapsed - reported)) -ge 30 ]; then
		echo "  ${elapsed}s: still building ${running[*]}" >&2
		reported=$elapsed
	fi
done
[ "$failed" -eq 0 ] || exit 1
echo "$bin"
