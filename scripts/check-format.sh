#!/bin/sh
# Fails when a C file differs from what clang-format (with the committed
# .clang-format) would write. Run by the test suite, so CI enforces it.
set -eu
cd "$(dirname "$0")/.."
status=0
for f in $(find include src tools tests bench fuzz -name '*.[ch]' | sort); do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f (run: clang-format -i $f)"
    status=1
  fi
done
exit $status
