#!/usr/bin/env bash
# Provides the pinned Consul, Nomad and Jaeger binaries.
#
# A binary already on PATH at the pinned version is used as it is; otherwise the pinned
# version is built from the Go module proxy through the wrapper module beside this script
# (tools/<name>/go.mod, whose committed go.sum is what the build verifies against) into a
# cache outside the repo. Prints the folder that holds all three, for PATH.
#
#   tools/install.sh [consul|nomad|jaeger ...]     (default: all three)
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
	esac
}

package_of() {
	case $1 in
	consul) echo github.com/hashicorp/consul ;;
	nomad) echo github.com/hashicorp/nomad ;;
	jaeger) echo github.com/jaegertracing/jaeger/cmd/jaeger ;;
	esac
}

# on_path_at_version reports whether a binary outside the cache already has the pin.
on_path_at_version() {
	local name=$1 want=$2 found
	found=$(PATH=$(echo "$PATH" | tr ':' '\n' | grep -vx "$bin" | paste -sd:) command -v "$name" || true)
	[ -n "$found" ] || return 1
	"$found" version 2>/dev/null | head -3 | grep -q "v$want" || return 1
	ln -sf "$found" "$bin/$name"
}

build() {
	local name=$1 version out pkg start pid
	version=$(version_of "$name")
	out=$cache/$name-$version
	if [ -x "$out/$name" ]; then
		ln -sf "$out/$name" "$bin/$name"
		return
	fi
	if on_path_at_version "$name" "$version"; then
		return
	fi
	pkg=$(package_of "$name")
	mkdir -p "$out"
	echo "building $name v$version from the Go module proxy (several minutes on 2 cores)..." >&2
	start=$(date +%s)
	(cd "$here/$name" && GOFLAGS=-mod=readonly GOTOOLCHAIN=local \
		go build -trimpath -ldflags='-s -w' -o "$out/$name.tmp" "$pkg") &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 30
		kill -0 "$pid" 2>/dev/null && echo "  still building $name: $(($(date +%s) - start))s" >&2
	done
	wait "$pid"
	mv "$out/$name.tmp" "$out/$name"
	ln -sf "$out/$name" "$bin/$name"
	echo "built $name v$version in $(($(date +%s) - start))s" >&2
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(consul nomad jaeger)
for n in "${names[@]}"; do
	version_of "$n" >/dev/null || { echo "unknown tool: $n" >&2; exit 2; }
	build "$n"
done
echo "$bin"
