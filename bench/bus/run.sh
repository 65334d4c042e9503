#!/bin/sh
# bench/bus/run.sh [BUILD] — the bus between nodes (srv_bus_redis.c) on a
# throwaway redis-server, next to redis-benchmark's PUBLISH of the same
# number of bytes from the same run (docs/BENCH.md, "The bus between nodes").
#
#   flood   200,000 events of a 400-byte frame: events/s delivered on the
#           other node vs redis-benchmark PUBLISH (pipelined 256, one
#           subscriber reading, the same message size) — the ratio is what
#           the bus keeps of what Redis alone relays
#   paced   5,000 events/s for 5 s: publish → delivery latency on the other node
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
bin=$build/bench/bench_bus
[ -x "$bin" ] || { echo "build first: ninja -C $build" >&2; exit 2; }
N=${N:-200000}
FRAME=${FRAME:-400}
set -- $(sh "$root/scripts/redis-test-server.sh" start)
port=$1 dir=$2
trap 'kill $subpid 2>/dev/null || true; sh "$root/scripts/redis-test-server.sh" stop "$dir"' EXIT
url=redis://127.0.0.1:$port
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# a subscriber that falls behind is never dropped here: the reference's
# redis-cli would be, which would flatter it
redis-cli -p "$port" config set client-output-buffer-limit "pubsub 0 0 0" >/dev/null
rcpu() { redis-cli -p "$port" info cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.6f", s }'; }
r0=$(rcpu)
out=$("$bin" "$url" flood "$N" "$FRAME")
r1=$(rcpu)
echo "cordon  $out"
cordon=$(echo "$out" | sed -n 's/.*: \([0-9]*\) events\/s.*/\1/p')
awk -v a="$r0" -v b="$r1" -v n="$N" 'BEGIN { printf "redis-server cpu: %.1f us per event (one subscriber node)\n", (b - a) * 1e6 / n }'

# The reference: the header line cordon adds is ~70 bytes (10 users), so the same total
# message size is published, to a channel one redis-cli subscriber reads.
size=$((FRAME + 70))
payload=$(head -c "$size" /dev/zero | tr '\0' x)
redis-cli -p "$port" subscribe refch >/dev/null &
subpid=$!
sleep 0.3
ref=$(redis-benchmark -h 127.0.0.1 -p "$port" -c 1 -P 256 -n "$N" -q PUBLISH refch "$payload" |
      tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
echo "redis-benchmark PUBLISH ${size} B, pipelined 256, one subscriber: $ref messages/s"
awk -v c="$cordon" -v r="$ref" 'BEGIN { printf "ratio cordon bus / redis-benchmark: %.2f\n", c / r }'

echo "cordon  $("$bin" "$url" paced 5000 5 "$FRAME")"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
