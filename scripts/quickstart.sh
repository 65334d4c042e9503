#!/usr/bin/env bash
# The README quick start: installs what Cordon needs (Debian 12), builds it,
# and runs `cordon scan` with the embedded default policy on the bundled
# sample. Extra arguments are passed to `cordon scan` instead of the sample.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
if [ $# -eq 0 ]; then set -- data/sample; fi
status=0
./build/src/tool/cordon scan "$@" || status=$?
# exit 1 only means "something was found": that is the point of the sample
[ "$status" -le 1 ] || exit "$status"
