#!/bin/sh
# bench/uploads/run.sh — a large tus upload through `cordon serve` next to
# @tus/server (FileStore), same client, same run (docs/BENCH.md, "Uploads").
#
# usage: bench/uploads/run.sh [--build DIR] [SIZE_MB (256; 2048 for the issue's 2 GB)] [RUNS (3)]
#
# Installs the pinned npm packages (package-lock.json) when node_modules is
# stale. Exit status: 0 when the bench ran; 1 when it could not; 2 on usage.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-}
if [ "${1:-}" = "--build" ]; then build=${2:?}; shift 2; fi
[ -n "$build" ] || { [ -x "$root/build-release/src/tool/cordon" ] && build=$root/build-release || build=$root/build; }
cordon=$build/src/tool/cordon
[ -x "$cordon" ] || { echo "run.sh: no $cordon (build first)" >&2; exit 1; }
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.cordon-lock" 2>/dev/null; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
    cp "$here/package-lock.json" "$here/node_modules/.cordon-lock"
fi
exec node "$here/upload.js" "$cordon" "${1:-256}" "${2:-3}"
