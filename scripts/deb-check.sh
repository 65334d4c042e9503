#!/bin/sh
# deb-check.sh — builds the Debian package from the repository exactly as
# docs/DEPLOY.md says (dpkg-buildpackage -b -uc -us, debian/) and checks it
# without installing it on the machine: unpacked into a temp root with
# `dpkg -x`, the files are where DEPLOY.md's table says, the unit and the
# conffile are declared, the maintainer scripts make the `cordon` system
# user, and the packaged binary runs (`cordon --version`, and a scan through
# the packaged binary's default policy).
#
# usage: scripts/deb-check.sh [--keep] [--deb FILE]
#   --keep      leave the temp dir, print it
#   --deb FILE  check this package instead of building one (the checks alone)
#
# The build happens in a temp copy of the tracked files (git ls-files), so
# neither the work tree nor its parent directory gets build output. Run by
# .ci/run. Exit 0 when the package builds and every check holds, 1 when a
# check fails, 77 (a skip) when dpkg-buildpackage or debhelper is missing.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
keep=0
deb=
while [ $# -gt 0 ]; do
    case $1 in
    --keep) keep=1 ;;
    --deb) deb=$(realpath "${2:?--deb FILE}"); shift ;;
    *) sed -n '10,12p' "$0" >&2; exit 2 ;;
    esac
    shift
done

if [ -z "$deb" ] && ! { command -v dpkg-buildpackage && command -v dh; } >/dev/null; then
    echo "deb-check: dpkg-buildpackage/debhelper not installed (scripts/install-deps.sh)" >&2
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cordon-deb-XXXXXX")
cleanup() { [ $keep = 1 ] && echo "deb-check: kept $tmp" >&2 || rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "deb-check: FAIL: $*" >&2; exit 1; }

start=$(date +%s)
mkdir "$tmp/src" "$tmp/root"
if [ -z "$deb" ]; then
    # the tracked files, as a fresh clone has them (web/node_modules and
    # build directories are not copied; the package build runs npm ci itself)
    (cd "$root" && git ls-files -z --cached --others --exclude-standard) |
        (cd "$root" && xargs -0 cp --parents -t "$tmp/src" 2>/dev/null) || true
    [ -f "$tmp/src/debian/control" ] || fail "could not copy the source tree"
    (
        cd "$tmp/src"
        DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck" dpkg-buildpackage -b -uc -us >"$tmp/build.log" 2>&1
    ) || {
        tail -40 "$tmp/build.log" >&2
        fail "dpkg-buildpackage failed (log above)"
    }
    deb=$(ls "$tmp"/cordon_*_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || fail "no cordon_*.deb was produced"
fi
built=$(date +%s)

dpkg -x "$deb" "$tmp/root"
mkdir "$tmp/control"
dpkg -e "$deb" "$tmp/control"

# the files of DEPLOY.md's table
for f in usr/bin/cordon usr/share/cordon/web/index.html etc/cordon/cordon.yaml \
    lib/systemd/system/cordon.service usr/share/doc/cordon/cordon.example.yaml; do
    [ -e "$tmp/root/$f" ] || [ -e "$tmp/root/usr/$f" ] || fail "/$f is not in the package"
done
[ -x "$tmp/root/usr/bin/cordon" ] || fail "/usr/bin/cordon is not executable"
grep -qx /etc/cordon/cordon.yaml "$tmp/control/conffiles" || fail "/etc/cordon/cordon.yaml is not a conffile"
grep -q 'adduser --system' "$tmp/control/postinst" || fail "postinst does not make the cordon system user"
grep -q '/var/lib/cordon' "$tmp/control/postinst" || fail "postinst does not make /var/lib/cordon"
unit=$(ls "$tmp/root/lib/systemd/system/cordon.service" "$tmp/root/usr/lib/systemd/system/cordon.service" 2>/dev/null | head -1)
grep -q '^ExecStart=/usr/bin/cordon serve --config /etc/cordon/cordon.yaml' "$unit" || fail "the unit does not start cordon serve"
grep -q '^User=cordon' "$unit" || fail "the unit does not run as cordon"
dpkg-deb -f "$deb" Depends | grep -q 'libpq' || fail "Depends lacks libpq (the PostgreSQL store)"
dpkg-deb -f "$deb" Depends | grep -q 'libhiredis' || fail "Depends lacks libhiredis (the Redis bus)"

# the packaged binary runs, with the web client it was built for
v=$("$tmp/root/usr/bin/cordon" --version) || fail "cordon --version failed"
echo "$v" | grep -q cordon || fail "cordon --version printed: $v"
# a phone number is above allow under the default policy: exit 1, not 2
printf 'call me on 13812345678\n' >"$tmp/msg.txt"
rc=0
"$tmp/root/usr/bin/cordon" scan "$tmp/msg.txt" >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || fail "cordon scan of a phone number exited $rc (1 expected)"
strings "$tmp/root/usr/bin/cordon" | grep -q '^/usr/share/cordon/web$' || fail "the binary's default web_root is not /usr/share/cordon/web"

echo "deb-check: $(basename "$deb") ok ($(du -k "$deb" | cut -f1) KiB; built in $((built - start)) s (0: given), checked in $(($(date +%s) - built)) s): $v"
