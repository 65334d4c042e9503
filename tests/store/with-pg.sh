#!/bin/sh
# with-pg.sh PG_TEST_SERVER CMD [ARGS...] — runs CMD with CORDON_TEST_PG set:
# the cluster already named in the environment (scripts/test.sh starts one
# for the whole run), or else a throwaway cluster started for this command
# and stopped after it (scripts/pg-test-server.sh). Exit 77 (a skip, never a
# pass) when PostgreSQL is not installed.
set -u
server=$1
shift
if [ -n "${CORDON_TEST_PG:-}" ]; then
    exec "$@"
fi
dir=$(mktemp -d /tmp/cordon-pg-XXXXXX)
url=$(sh "$server" start "$dir")
rc=$?
if [ $rc -ne 0 ]; then
    rm -rf "$dir"
    exit $rc
fi
CORDON_TEST_PG=$url "$@"
rc=$?
sh "$server" stop "$dir"
rm -rf "$dir"
exit $rc
