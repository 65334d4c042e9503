#!/bin/sh
# Runs the integration tests of `cordon serve` (docs/TESTING.md, "Server").
#
# usage: tests/server/run.sh CORDON [suite|durability] [node --test args...]
#
# Installs the pinned npm packages (package-lock.json) with `npm ci` when
# node_modules does not match the lock file; a lock serialises concurrent
# runs. CORDON is the `cordon` binary under test.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { sed -n '4p' "$0" | sed 's/^# //' >&2; exit 2; }
cordon=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
what=${2:-suite}
[ $# -ge 2 ] && shift 2 || shift $#

(
    flock 9
    if ! cmp -s "$here/package-lock.json" "$here/node_modules/.cordon-lock" 2>/dev/null; then
        echo "run.sh: npm ci in $here" >&2
        (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
        cp "$here/package-lock.json" "$here/node_modules/.cordon-lock"
    fi
) 9>"$here/.npm.lock"

export CORDON="$cordon"
case $what in
# cluster.test.js needs PostgreSQL and Redis: meson's server-cluster runs it
# through run-pg.sh, so the plain suite leaves it out rather than skip it.
suite) files=$(ls "$here"/test/*.test.js | grep -v '/cluster\.test\.js$') ;;
durability) files=$(ls "$here"/durability/*.test.js) ;;
*.js) files=$what ;;
*) files=$(ls "$here"/test/"$what".test.js) ;;
esac
# shellcheck disable=SC2086 # one word per file
exec node --test --test-concurrency=2 --test-timeout=$((180000 * ${CORDON_TEST_SLOW:-1})) --test-reporter=spec "$@" $files
