#!/usr/bin/env python3
"""CLI test of `cordon user` and `cordon audit` against a temporary data dir.

usage: test_store_cli.py CORDON SYSLOG_SHIM

SYSLOG_SHIM: tests/syslog_shim.c built as a shared library; preloaded, it
writes what cordon sends to syslog(3) into a file.

Drives the real binary: adds, lists, disables, enables, changes roles,
resets passwords; checks one-time passwords are printed once and never
stored in clear; verifies and exports the audit chain, then tampers with the
database file and checks that verify names the altered entry. Then signed
checkpoints of the chain head: a log cut at its end (entries deleted and
audit_head rewritten to match, or emptied) or rewritten past a checkpoint
fails verify, a forged checkpoint is refused, an untouched log verifies.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

CORDON = sys.argv[1]
SYSLOG_SHIM = os.path.abspath(sys.argv[2])
failures = 0


def run(*args, stdin=None, expect=0, env=None):
    p = subprocess.run([CORDON, *args], input=stdin, capture_output=True, text=True, timeout=60,
                       env={**os.environ, **env} if env else None)
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
    # a display name follows the API's rule: no controls or bidi overrides, 64 characters
    p = run("user", "add", "eve", "--name", "Eve\u202egpj.exe", *d, expect=2)
    check("bidirectional" in p.stderr, f"bidi override refused: {p.stderr}")
    p = run("user", "add", "eve", "--name", "Eve\nAdmin", *d, expect=2)
    check("control" in p.stderr, f"line feed refused: {p.stderr}")
    p = run("user", "add", "eve", "--name", "名" * 65, *d, expect=2)
    check("64 characters" in p.stderr, f"65 characters refused: {p.stderr}")
    run("user", "add", "carol", "--role", "boss", *d, expect=2)  # unknown role
    run("user", "add", "weak", "--password-stdin", *d, stdin="password\n", expect=2)
    p = run("user", "add", "dave", "--password-stdin", *d, stdin="correct horse battery\n")
    check(otp_of(p.stdout) is None, "no one-time password with --password-stdin")
    run("user", "bogus", *d, expect=2)
    run("user", *d, expect=2)

    # a config file naming the data dir finds the same database
    cfg = os.path.join(tmp, "cordon.yaml")
    with open(cfg, "w") as f:
        # read by the server's own configuration reader: a nested key named like a
        # top-level one does not confuse it
        f.write(f"listen: 127.0.0.1:0\naudit:\n  checkpoint_interval_s: 5\ndata_dir: {data}\n")
    p = run("user", "list", "--json", "--config", cfg)
    users = [json.loads(line) for line in p.stdout.splitlines()]
    # a config the server would refuse is refused here too, saying where
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write(f"data_dir: {data}\nlimts:\n  burst: 1\n")
    p = run("user", "list", "--config", bad, expect=2)
    check("limts" in p.stderr and "bad.yaml" in p.stderr, f"bad config: {p.stderr}")
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
    check("intact up to seq 7: 7 entries" in p.stdout, f"verify: {p.stdout}")
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


def tamper(data_dir, sql):
    con = sqlite3.connect(os.path.join(data_dir, "cordon.db"))
    con.executescript("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;" + sql)
    con.close()


def entry_hash(prev, seq, time, actor_id, actor, event, target, detail):
    """docs/AUDIT.md: what someone who edits the file recomputes."""
    b = prev + b"cordon-audit-v1"
    for n in (seq, time, actor_id):
        b += n.to_bytes(8, "big")
    for f in (actor, event, target, detail):
        b += len(f.encode()).to_bytes(4, "big") + f.encode()
    return hashlib.blake2b(b, digest_size=32).digest()


def rewrite_from(data_dir, seq, events):
    """Cuts the log after seq - 1 and appends `events` with valid hashes: the
    chain and the head are consistent again, only a checkpoint can tell."""
    con = sqlite3.connect(os.path.join(data_dir, "cordon.db"))
    con.executescript("DROP TRIGGER audit_no_delete;")
    con.execute("DELETE FROM audit WHERE seq >= ?", (seq,))
    prev = con.execute("SELECT hash FROM audit WHERE seq = ?", (seq - 1,)).fetchone()[0]
    for i, ev in enumerate(events):
        s = seq + i
        h = entry_hash(prev, s, 1, 0, "cli", ev, "", "{}")
        con.execute("INSERT INTO audit VALUES(?, 1, 0, 'cli', ?, '', '{}', ?, ?)", (s, ev, prev, h))
        prev = h
    con.execute("UPDATE audit_head SET seq = ?, hash = ?", (seq + len(events) - 1, prev))
    con.commit()
    con.close()


def copy_of(src, name):
    dst = os.path.join(os.path.dirname(src), name)
    shutil.copytree(src, dst)
    return dst


# Signed checkpoints (docs/AUDIT.md, "Checkpoints").
with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    d = ["--data", data]
    key = os.path.join(data, "audit-checkpoint.key")
    ckfile = os.path.join(data, "audit-checkpoints.log")
    for login in ("ann", "ben", "cat", "dan", "eve"):
        run("user", "add", login, *d)

    # no checkpoint yet: verify says that a cut end cannot be seen
    p = run("audit", "verify", *d)
    check("no checkpoint file" in p.stdout, f"no checkpoint: {p.stdout}")

    # the checkpoint also goes to syslog as authpriv.notice (10 << 3 | 5)
    syslog_file = os.path.join(tmp, "syslog")
    p = run("audit", "checkpoint", *d,
            env={"LD_PRELOAD": SYSLOG_SHIM, "CORDON_SYSLOG_FILE": syslog_file,
                 # under AddressSanitizer the shim is loaded before its runtime
                 "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                        "verify_asan_link_order=0"]))})
    line = p.stdout.strip()
    check(os.path.exists(syslog_file) and open(syslog_file).read() == f"85 {line}\n",
          "checkpoint sent to syslog as authpriv.notice")
    check(line.startswith("cordon-audit-checkpoint-v1 db=") and " seq=5 " in line,
          f"checkpoint line: {p.stdout}")
    check(oct(os.stat(key).st_mode & 0o777) == "0o600", "signing key is private")
    check(open(ckfile).read() == line + "\n", "checkpoint appended to the file")
    pub = open(key + ".pub").read().strip()
    check(len(pub) == 64, f"public key file: {pub!r}")
    run("user", "add", "fay", *d)
    run("user", "add", "gus", *d)
    run("audit", "checkpoint", *d)  # at seq 7

    # untouched: the chain holds both checkpoints (the default file)
    p = run("audit", "verify", *d)
    check("intact up to seq 7" in p.stdout and "checkpoint at seq 7 verified" in p.stdout,
          f"untouched verify: {p.stdout}")
    # ... also with the public key given, and one line on stdin with a syslog prefix
    run("audit", "verify", "--key", pub, *d)
    p = run("audit", "verify", "--key", key + ".pub", "--checkpoint", "-", *d,
            stdin="Dec  6 08:00:00 host cordon[42]: " + line + "\n")
    check("checkpoint at seq 5 verified" in p.stdout, f"stdin checkpoint: {p.stdout}")
    # entries appended after the last checkpoint are fine
    run("user", "add", "hal", *d)
    run("audit", "verify", *d)

    # the last 2 entries deleted and audit_head rewritten to match
    cut = copy_of(data, "cut")
    tamper(cut, "DELETE FROM audit WHERE seq > 6;"
                "UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit WHERE seq = 6);")
    p = run("audit", "verify", "--data", cut, expect=1)
    check("log truncated: checkpoint at seq 7" in p.stdout and "the log ends at seq 6" in p.stdout,
          f"truncated verify: {p.stdout}")
    # the same, checked against a checkpoint shipped elsewhere, with the public key only
    p = run("audit", "verify", "--data", cut, "--key", pub, "--checkpoint", "-", expect=1,
            stdin=open(ckfile).read().splitlines()[1])
    check("log truncated: checkpoint at seq 7" in p.stdout, f"truncated, stdin: {p.stdout}")

    # the whole log emptied
    empty = copy_of(data, "empty")
    tamper(empty, "DELETE FROM audit; DELETE FROM audit_head;")
    p = run("audit", "verify", "--data", empty, expect=1)
    check("log truncated: checkpoint at seq 7" in p.stdout and "the log ends at seq 0" in p.stdout,
          f"emptied verify: {p.stdout}")

    # cut at 6 and continued with recomputed hashes: chain intact, head past
    # the checkpoint, but entry 7 is not the one that was signed
    rew = copy_of(data, "rewritten")
    rewrite_from(rew, 6, ["user.add", "user.add", "user.add", "user.add"])
    p = run("audit", "verify", "--data", rew, expect=1)
    check("intact up to seq 9" in p.stdout and "log rewritten: checkpoint at seq 5" not in p.stdout
          and "log rewritten: checkpoint at seq 7" in p.stdout, f"rewritten verify: {p.stdout}")

    # a forged checkpoint: fields changed after signing
    forged = line.replace(" seq=5 ", " seq=4 ")
    p = run("audit", "verify", "--checkpoint", "-", *d, stdin=forged + "\n", expect=1)
    check("checkpoint signature invalid" in p.stdout, f"forged (edited): {p.stdout}")
    # ... or signed with another key, appended to the real file: refused, not skipped
    other_key = os.path.join(tmp, "other.key")
    p = run("audit", "checkpoint", "--key", other_key, "--checkpoint", "-", *d)
    forged_file = os.path.join(tmp, "forged.log")
    with open(forged_file, "w") as f:
        f.write(open(ckfile).read() + p.stdout)
    p = run("audit", "verify", "--checkpoint", forged_file, *d, expect=1)
    check("checkpoint signature invalid (line 3)" in p.stdout, f"forged (other key): {p.stdout}")
    # a line that is not a checkpoint is an error too; a torn last line is not
    with open(forged_file, "w") as f:
        f.write(open(ckfile).read() + "garbage\n")
    p = run("audit", "verify", "--checkpoint", forged_file, *d, expect=1)
    check("not a checkpoint (line 3)" in p.stdout, f"malformed: {p.stdout}")
    with open(forged_file, "w") as f:
        f.write(open(ckfile).read() + line[:60])
    p = run("audit", "verify", "--checkpoint", forged_file, *d)
    check("checkpoint at seq 7 verified" in p.stdout, f"torn last line: {p.stdout}")

    # a checkpoint of another database (same key) does not vouch for this one
    other = os.path.join(tmp, "other")
    run("user", "add", "zed", "--data", other)
    p = run("audit", "checkpoint", "--data", other, "--key", key, "--checkpoint", "-")
    p = run("audit", "verify", "--checkpoint", "-", *d, stdin=p.stdout, expect=1)
    check("of another database" in p.stdout, f"other database: {p.stdout}")

    # a key file others can read is refused; a missing --checkpoint file is an error
    os.chmod(key, 0o644)
    run("audit", "checkpoint", *d, expect=2)
    os.chmod(key, 0o600)
    run("audit", "verify", "--checkpoint", os.path.join(tmp, "nope"), *d, expect=2)
    run("audit", "verify", "--checkpoint", "-", *d, stdin="", expect=2)

print("store_cli:", "FAILED" if failures else "ok")
sys.exit(1 if failures else 0)
