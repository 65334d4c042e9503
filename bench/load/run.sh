#!/usr/bin/env bash
# bench/load/run.sh — the server load bench: `cordon serve` against mosquitto
# (no persistence, no inspection) on the same machine, same client, same
# conversation shapes; every figure next to mosquitto's and the ratio, then
# PASS/MISS for the targets of issue 4 (docs/BENCH.md, "Server load").
#
# usage: bench/load/run.sh [--build DIR] [--dur S] [--only NAMES] [--conns N] [--no-mqtt] [--targets LIST]
#
# Builds nothing: takes `cordon` from a build directory (--build, else
# $BUILD, else ./build-release, else ./build). Starts its own server and its
# own mosquitto on free ports with temp data dirs.
# Scenario names: 1to1-max fanout100-max 1to1-5k 1to1-200 group50 group500 conn10k.
# Targets (--targets, default all): sqlite (one node on SQLite), pg (one
# node on PostgreSQL), cluster (two nodes on PostgreSQL + Redis), mosquitto.
# pg and cluster start a throwaway PostgreSQL (durable settings) and Redis
# in temp directories (scripts/pg-test-server.sh, redis-test-server.sh) and
# tear them down at the end; without PostgreSQL or Redis installed they are
# left out with a note.
#
# Exit status: 0 when the bench ran, even if targets were missed; 1 when it
# could not run; 2 on usage.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-}
args=()
usage() { sed -n '7p' "$0" | sed 's/^# //' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=${2:-}; shift ;;
    --dur | --only | --conns | --targets) args+=("$1" "${2:-}"); shift ;;
    --no-mqtt) args+=("$1") ;;
    -h | --help) usage ;;
    *) usage ;;
    esac
    shift
done
if [ -z "$build" ]; then
    for d in "$root/build-release" "$root/build"; do
        [ -x "$d/src/tool/cordon" ] && { build=$d; break; }
    done
fi
cordon=$build/src/tool/cordon
[ -x "$cordon" ] || { echo "run.sh: no cordon in ${build:-build-release or build}; meson setup build-release -Dbuildtype=release && ninja -C build-release" >&2; exit 1; }
command -v node >/dev/null || { echo "run.sh: node not found (scripts/install-deps.sh)" >&2; exit 1; }
[ -x /usr/sbin/mosquitto ] || { echo "run.sh: /usr/sbin/mosquitto not found (scripts/install-deps.sh)" >&2; exit 1; }

# No npm packages: the clients are wslite.js and mqttlite.js.

# 10,000 client sockets here and 10,000 in the server
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 20500 ]; then
    echo "run.sh: ulimit -n is $(ulimit -n); the 10k-connection run may fall short" >&2
fi

out=$root/bench/out
mkdir -p "$out"
json=$out/load-$(date +%Y%m%d-%H%M%S).json
echo "cordon: $cordon ($("$cordon" --version 2>/dev/null | head -1))"
# --single-threaded-gc: V8's parallel and concurrent GC threads (two on
# this 2-core machine) took both CPUs from the server for the ~20 ms of each
# major GC of the load generator, about once a second: every tail episode of
# 1to1-5k sat on one (BENCH_LAT_FILE records both; docs/BENCH.md "Session
# 12"). On one thread the pause is the generator's own, as its lag and GC
# figures report, and mosquitto's run gets the same flag. NODE_FLAGS adds
# more (e.g. --trace-gc).
# shellcheck disable=SC2086
node --single-threaded-gc ${NODE_FLAGS:-} "$here/load.js" --cordon "$cordon" --json "$json" "${args[@]}" || exit 1
echo "results: $json"
