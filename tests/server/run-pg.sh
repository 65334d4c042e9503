#!/bin/sh
# Runs the server integration tests that matter for the store against
# PostgreSQL (docs/TESTING.md, "Server"): the real `cordon serve`, each
# server on a fresh database of one cluster (tests/server/lib/server.js,
# CORDON_TEST_STORE_PG).
#
# usage: tests/server/run-pg.sh CORDON [TEST...]   (default: the subset below)
#
# The cluster is the one CORDON_TEST_PG names (scripts/test.sh starts one),
# or a throwaway one started here (scripts/pg-test-server.sh). Exit 77 (a
# skip) when PostgreSQL is not installed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] || { sed -n '6p' "$0" | sed 's/^# //' >&2; exit 2; }
cordon=$1
shift
tests=${*:-chat receipts_stored recall attachments uploads uploads_authz reminders trace trace_file history_scope auth reports account_cli audit_checkpoint warning_personal stats_department export_files watermark_delivery watermark_forms watermark_types burn_images burn small_fixes export backup_files}

dir=
if [ -z "${CORDON_TEST_PG:-}" ]; then
    dir=$(mktemp -d /tmp/cordon-pg-XXXXXX)
    CORDON_TEST_PG=$(sh "$root/scripts/pg-test-server.sh" start "$dir")
    rc=$?
    if [ $rc -ne 0 ]; then
        rm -rf "$dir"
        exit $rc
    fi
fi
export CORDON_TEST_STORE_PG="$CORDON_TEST_PG"

status=0
for t in $tests; do
    echo "== $t on PostgreSQL" >&2
    sh "$here/run.sh" "$cordon" "$t" || status=1
done
if [ -n "$dir" ]; then
    sh "$root/scripts/pg-test-server.sh" stop "$dir"
    rm -rf "$dir"
fi
exit $status
