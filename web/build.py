#!/usr/bin/env python3
"""Builds the web client for meson: `npm ci` when node_modules is missing or
older than package-lock.json, then `vite build` into the build tree.

usage: build.py WEB_SOURCE_DIR OUT_DIR STAMP_FILE
"""
import fcntl
import os
import shutil
import subprocess
import sys


def main() -> int:
    src, out, stamp = sys.argv[1:4]
    lock = os.path.join(src, 'package-lock.json')
    marker = os.path.join(src, 'node_modules', '.package-lock.json')
    # Several build trees may share web/node_modules: serialise the install.
    with open(os.path.join(src, 'node_modules.lock') if os.access(src, os.W_OK) else os.devnull, 'w') as lk:
        try:
            fcntl.flock(lk, fcntl.LOCK_EX)
        except OSError:
            pass
        if not os.path.exists(marker) or os.path.getmtime(marker) < os.path.getmtime(lock):
            npm = shutil.which('npm')
            if not npm:
                print('web: npm not found (install nodejs)', file=sys.stderr)
                return 1
            print('web: npm ci', file=sys.stderr)
            r = subprocess.run([npm, 'ci', '--no-audit', '--no-fund'], cwd=src)
            if r.returncode != 0:
                return r.returncode
            os.utime(marker)
    node = shutil.which('node') or 'node'
    vite = os.path.join(src, 'node_modules', 'vite', 'bin', 'vite.js')
    env = dict(os.environ)
    env.setdefault('NO_COLOR', '1')
    r = subprocess.run([node, vite, 'build', '--logLevel', 'warn', '--outDir', os.path.abspath(out), '--emptyOutDir'],
                       cwd=src, env=env)
    if r.returncode != 0:
        return r.returncode
    with open(stamp, 'w') as f:
        f.write('ok\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
