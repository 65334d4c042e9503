#!/bin/sh
# Installs every Debian 12 package Cordon needs to build, test and benchmark.
# Idempotent; run as root (or with sudo available). Used by the README quick
# start and by .ci/run, so a fresh machine and CI install exactly the same set.
set -eu

PKGS="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
      libhyperscan-dev libutf8proc-dev libicu-dev opencc libopencc-data
      libidn2-dev libyaml-dev libjansson-dev libcmocka-dev libsodium-dev python3 ripgrep
      valgrind clang-format
      libmagic-dev libuchardet-dev libarchive-dev libzip-dev libxml2-dev
      libpoppler-glib-dev libtesseract-dev libleptonica-dev tesseract-ocr-chi-sim
      tesseract-ocr-eng libexif-dev libzbar-dev libgmime-3.0-dev libgsf-1-dev libseccomp-dev
      fonts-wqy-zenhei python3-pil python3-cairo zbar-tools poppler-utils tesseract-ocr
      zip zstd chromium qrencode openssl rsyslog
      libwebsockets-dev libwebsockets-evlib-ev libev-dev liboath-dev libsqlite3-dev sqlite3 mosquitto mosquitto-clients nodejs"
# promtool (in Debian's prometheus package) checks the /metrics exposition
# in tests/server/test/ops.test.js.
PKGS="$PKGS prometheus"
# The PostgreSQL store backend (libpq) and the server and client its tests
# start themselves (scripts/pg-test-server.sh; never the machine's service).
PKGS="$PKGS libpq-dev postgresql postgresql-client"
# The bus between nodes (src/server/srv_bus_redis.c): hiredis to build,
# redis-server and redis-cli for the tests (scripts/redis-test-server.sh
# starts its own; the machine's service is never used).
PKGS="$PKGS libhiredis-dev redis-server redis-tools"
# The Debian package build that CI checks (scripts/deb-check.sh).
PKGS="$PKGS debhelper dpkg-dev"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
