#!/usr/bin/env bash
# The README quick start: installs what Cordon needs (Debian 12), builds it
# (the web client included), and starts `cordon serve` on 127.0.0.1:8080 with
# embedded defaults (SQLite under ./cordon-data, the built-in policy). On the
# first start the server prints the one-time admin password.
#
#   scripts/quickstart.sh                 install, build, serve
#   scripts/quickstart.sh serve ARGS...   the same, with extra `cordon serve` options
#   scripts/quickstart.sh scan [PATH...]  install, build, scan PATH (default: data/sample)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build

mode=serve
if [ $# -gt 0 ]; then mode=$1; shift; fi
case "$mode" in
  serve)
    exec ./build/src/tool/cordon serve "$@" ;;
  scan)
    if [ $# -eq 0 ]; then set -- data/sample; fi
    status=0
    ./build/src/tool/cordon scan "$@" || status=$?
    # exit 1 only means "something was found": that is the point of the sample
    [ "$status" -le 1 ] || exit "$status" ;;
  *)
    echo "usage: scripts/quickstart.sh [serve [ARGS...] | scan [PATH...]]" >&2
    exit 2 ;;
esac
