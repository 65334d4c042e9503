#!/bin/sh
# redis-test-server.sh — a throwaway redis-server for tests: loopback only,
# in a temporary directory, nothing saved, never the machine's service.
#
#   scripts/redis-test-server.sh start [PORT [DIR]]   prints "PORT DIR PID"
#   scripts/redis-test-server.sh stop DIR             stops it, removes DIR
#
# Without PORT a free one is picked (redis-server cannot listen on port 0).
# With PORT and DIR it starts again where a stopped one was (the tests
# restart Redis on the same port to check that nodes notice what they
# missed). Needs redis-server and redis-cli (Debian: redis-server,
# redis-tools; scripts/install-deps.sh).
set -eu

die() { echo "redis-test-server: $*" >&2; exit 1; }

free_port() {
    # The kernel's pick for an ephemeral port, released at once.
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
    command -v redis-server >/dev/null || die "redis-server not installed"
    port=${1:-}
    dir=${2:-}
    [ -n "$dir" ] || dir=$(mktemp -d "${TMPDIR:-/tmp}/cordon-redis-XXXXXX")
    mkdir -p "$dir"
    for attempt in 1 2 3 4 5; do
        p=${port:-$(free_port)}
        rm -f "$dir/redis.pid"
        redis-server --bind 127.0.0.1 --port "$p" --dir "$dir" --save '' --appendonly no \
            --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
            --protected-mode yes >/dev/null 2>&1 || true
        i=0
        while [ $i -lt 50 ]; do
            if [ "$(redis-cli -h 127.0.0.1 -p "$p" ping 2>/dev/null)" = PONG ]; then
                echo "$p $dir $(cat "$dir/redis.pid" 2>/dev/null || echo 0)"
                return 0
            fi
            i=$((i + 1))
            sleep 0.1
        done
        [ -z "$port" ] || break # a given port: no other to try
    done
    cat "$dir/redis.log" >&2 2>/dev/null || true
    die "redis-server did not start"
}

stop() {
    dir=${1:-}
    [ -n "$dir" ] && [ -d "$dir" ] || die "stop: no such directory: $dir"
    if [ -f "$dir/redis.pid" ]; then
        pid=$(cat "$dir/redis.pid")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
*) die "usage: $0 start [PORT [DIR]] | stop DIR" ;;
esac
