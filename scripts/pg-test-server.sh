#!/bin/sh
# pg-test-server.sh — a throwaway PostgreSQL cluster for the tests, started
# by the project itself (never the machine's service).
#
#   scripts/pg-test-server.sh start DIR   initdb DIR/data, start it listening on a
#                                         unix socket in DIR only (no TCP port),
#                                         print its connection URL on stdout
#   scripts/pg-test-server.sh stop DIR    stop it and remove DIR/data
#   scripts/pg-test-server.sh url DIR     print the URL again
#
# The URL (postgresql://postgres@/postgres?host=DIR) is what CORDON_TEST_PG
# takes (tests/store) and what `store:` takes in cordon.yaml.
#
# initdb refuses to run as root: as root the cluster belongs to the
# `postgres` system user the Debian package creates (runuser), and DIR is
# handed to it. Durability is off (fsync=off): a test cluster only.
# PG_DURABLE=1 keeps PostgreSQL's durable defaults (fsync, synchronous_commit,
# full_page_writes on): the load bench compares it with SQLite, which syncs
# every commit (bench/load).
# Exit 77 (a skip to meson) when PostgreSQL's binaries are not installed.
set -eu

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
fi

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
    for v in 17 16 15; do
        if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then
            bindir=/usr/lib/postgresql/$v/bin
            break
        fi
    done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg-test-server: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
    exit 77
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

url() {
    echo "postgresql://postgres@/postgres?host=$dir"
}

case $cmd in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
            --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
    fi
    speed="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${PG_DURABLE:-0}" = 1 ] && speed=
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-k $dir -c listen_addresses= $speed -c max_connections=200" \
        start >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
    url
    ;;
stop)
    dir=$(cd "$dir" 2>/dev/null && pwd) || exit 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$dir/data"
    ;;
url)
    dir=$(cd "$dir" && pwd)
    url
    ;;
*)
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
    ;;
esac
