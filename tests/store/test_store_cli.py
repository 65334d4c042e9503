#!/usr/bin/env python3
"""CLI test of `cordon user` and `cordon audit` against a temporary data dir.

usage: test_store_cli.py CORDON

Drives the real binary: adds, lists, disables, enables, changes roles,
resets passwords; checks one-time passwords are printed once and never
stored in clear; verifies and exports the audit chain, then tampers with the
database file and checks that verify names the altered entry.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

CORDON = sys.argv[1]
failures = 0


def run(*args, stdin=None, expect=0):
    p = subprocess.run([CORDON, *args], input=stdin, capture_output=True, text=True, timeout=60)
    if p.returncode != expect:
        fail(f"cordon {' '.join(args)}: exit {p.returncode}, expected {expect}\n"
             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def otp_of(out):
    for line in out.splitlines():
        if "one-time password" in line:
            return line.rsplit(" ", 1)[1]
    return None


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    db = os.path.join(data, "cordon.db")
    d = ["--data", data]

    # nothing there yet: list and audit say so
    run("user", "list", *d, expect=2)
    run("audit", "verify", *d, expect=2)

    p = run("user", "add", "alice", "--name", "Alice A", "--role", "officer", *d)
    otp = otp_of(p.stdout)
    check(otp and len(otp) == 24, f"one-time password printed: {p.stdout!r}")
    check(oct(os.stat(data).st_mode & 0o777) == "0o700", "data dir is private")
    check(oct(os.stat(db).st_mode & 0o777) == "0o600", "database file is private")
    run("user", "add", "Bob", "--external", *d)
    run("user", "add", "bob", *d, expect=2)                      # taken, case-insensitively
    run("user", "add", "carol", "--role", "boss", *d, expect=2)  # unknown role
    run("user", "add", "weak", "--password-stdin", *d, stdin="password\n", expect=2)
    p = run("user", "add", "dave", "--password-stdin", *d, stdin="correct horse battery\n")
    check(otp_of(p.stdout) is None, "no one-time password with --password-stdin")
    run("user", "bogus", *d, expect=2)
    run("user", *d, expect=2)

    # a config file naming the data dir finds the same database
    cfg = os.path.join(tmp, "cordon.yaml")
    with open(cfg, "w") as f:
        f.write(f"listen: 127.0.0.1:0\nlimits:\n  data_dir: nope\ndata_dir: {data}\n")
    p = run("user", "list", "--json", "--config", cfg)
    users = [json.loads(line) for line in p.stdout.splitlines()]
    check([u["login"] for u in users] == ["alice", "bob", "dave"], f"list: {users}")
    alice = users[0]
    check(alice["role"] == "officer" and alice["display_name"] == "Alice A"
          and alice["must_change_password"], f"alice: {alice}")
    check(users[1]["external"] and not users[2]["must_change_password"], f"flags: {users}")

    run("user", "disable", "bob", *d)
    run("user", "role", "alice", "admin", *d)
    run("user", "role", "alice", "king", *d, expect=2)
    run("user", "role", "nobody", "admin", *d, expect=2)
    p = run("user", "reset-password", "alice", *d)
    otp2 = otp_of(p.stdout)
    check(otp2 and otp2 != otp, "reset gives a new one-time password")
    p = run("user", "list", *d)
    check("disabled" in p.stdout and "admin" in p.stdout, f"table: {p.stdout}")
    run("user", "enable", "bob", *d)

    # secrets never in clear in the database
    raw = open(db, "rb").read()
    wal = db + "-wal"
    if os.path.exists(wal):
        raw += open(wal, "rb").read()
    for secret in (otp, otp2, "correct horse battery"):
        check(secret.encode() not in raw, "a password is stored in clear")

    # the audit chain: intact, exported, then tampered with
    p = run("audit", "verify", *d)
    check("intact: 7 entries" in p.stdout, f"verify: {p.stdout}")
    out = os.path.join(tmp, "audit.jsonl")
    run("audit", "export", "-o", out, *d)
    lines = [json.loads(line) for line in open(out)]
    check(len(lines) == 7, f"export lines: {len(lines)}")
    check([e["event"] for e in lines] == ["user.add", "user.add", "user.add", "user.disable",
                                          "user.role", "user.reset_password", "user.enable"],
          f"events: {[e['event'] for e in lines]}")
    check(all(e["actor"] == "cli" for e in lines), "actor cli")
    check(lines[1]["prev_hash"] == lines[0]["hash"] and len(lines[0]["hash"]) == 64, "chain")
    check(lines[4]["detail"] == {"role": "admin"}, f"detail: {lines[4]}")
    p = run("audit", "export", *d)
    check(p.stdout.count("\n") == 7, "export to stdout")

    con = sqlite3.connect(db)
    con.executescript("DROP TRIGGER audit_no_update;"
                      "UPDATE audit SET target = 'user:99' WHERE seq = 4;")
    con.close()
    p = run("audit", "verify", *d, expect=1)
    check("BROKEN at entry 4" in p.stdout, f"tampered verify: {p.stdout}")

print("store_cli:", "FAILED" if failures else "ok")
sys.exit(1 if failures else 0)
