#!/usr/bin/env bash
# Runs every test: builds (release-ish, warnings as errors) and runs the whole
# meson suite — unit tests, detection cases through the real `cordon`, CLI
# tests, fuzz-corpus replay. With --sanitize, does the same in a separate
# ASan+UBSan build. Prints "N passed, N failed" last; exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=0
for a in "$@"; do
  case "$a" in
    --sanitize) sanitize=1 ;;
    *) echo "usage: scripts/test.sh [--sanitize]" >&2; exit 2 ;;
  esac
done

if [ "$sanitize" = 1 ]; then
  dir=build-asan
  opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized)
  # A small quarantine keeps RSS-bound tests meaningful under ASan; any UBSan
  # report is fatal.
  export ASAN_OPTIONS="quarantine_size_mb=1:detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
else
  dir=build
  opts=()
fi

scripts/install-deps.sh

if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "${opts[@]}"
fi
ninja -C "$dir"

# One throwaway PostgreSQL cluster for the whole run (the store suite's
# PostgreSQL entries and anything else that reads CORDON_TEST_PG), started
# by the project's own script and stopped on the way out.
pgdir=$(mktemp -d /tmp/cordon-ci-pg-XXXXXX)
stop_pg() { scripts/pg-test-server.sh stop "$pgdir" || true; rm -rf "$pgdir"; }
trap stop_pg EXIT
if url=$(scripts/pg-test-server.sh start "$pgdir"); then
  export CORDON_TEST_PG="$url"
else
  echo "test.sh: PostgreSQL could not start; its tests start their own cluster" >&2
fi

status=0
meson test -C "$dir" --print-errorlogs --num-processes 2 || status=$?

# One closing line in the plain form CI reads.
python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    res = r.get("result")
    if res in ("OK", "EXPECTEDFAIL"):
        ok += 1
    elif res == "SKIP":
        skip += 1
    else:
        bad += 1
print("%d passed, %d failed, %d skipped" % (ok, bad, skip))
PY
exit $status
