#!/usr/bin/env python3
"""End-to-end tests of the file layer's core: worker, framing, dispatch,
encodings, archives, limits, hostile archives, crash and timeout handling.

usage: test_core.py CORDON_BINARY [GROUP...]

Every fixture is generated here, at run time, in a temporary directory, with
the standard library (zipfile, tarfile, gzip, bz2, lzma, zlib), libarchive
through ctypes (7z), the `zip` and `zstd` commands (their absence fails the
run), and by hand (RAR 4 and 5, see rar_fixtures.py). Each case runs the real
`cordon scan --format json` and checks verdict, status, rule, excerpt and
location. Groups: encodings archives hostile limits worker memory output.
Prints "N passed, N failed" last; exit 1 when something failed.
"""
import base64
import bz2
import gzip
import io
import json
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib

from rar_fixtures import rar4_bytes, rar5_bytes

CORDON = os.path.abspath(sys.argv[1])
GROUPS = set(sys.argv[2:])
MARK = "机密★1年"
BODY = "关于召开工作会议的通知\n" + MARK + "\n各单位：请于明日上午九时参加会议。\n"
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL %s %s" % (name, str(detail)[:1500]))


CACHE = tempfile.mkdtemp(prefix="cordon-core-cache-")


def scan(paths, policy=None, env=None, stdin=None, fmt="json", timeout=120, scope=None):
    args = [CORDON, "scan", "--format", fmt, "--no-progress", "--threads", "2",
            "--cache-dir", CACHE]
    if scope:
        args += ["--scope", scope]
    if policy:
        args += ["--policy", policy]
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(args + list(paths), input=stdin, capture_output=True, env=e,
                       timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    items = []
    if fmt == "json":
        items = [json.loads(l) for l in out.splitlines() if l.strip()]
    return p.returncode, items, p.stderr.decode("utf-8", "replace"), out


def one(path, **kw):
    rc, items, err, _ = scan([path], **kw)
    return rc, (items[0] if items else {"findings": [], "status": None, "verdict": None,
                                        "err": err}), err


def rules(item):
    return [f["rule"] for f in item.get("findings", [])]


def marks(item):
    return [f for f in item.get("findings", []) if f["rule"] == "marking.classified"]


def has_rule(item, rule, location=None):
    return any(f["rule"] == rule and (location is None or f["location"] == location)
               for f in item.get("findings", []))


def want(group):
    return not GROUPS or group in GROUPS


def policy_with_limits(d, name, limits):
    """A copy of the default policy with `limits:` added under settings."""
    lines = ["version: 1", "name: test", "settings:", "  limits:"]
    lines += ["    %s: %s" % (k, v) for k, v in limits.items()]
    lines += ["rules:", "  - id: classified", "    match: {rule: marking.classified}",
              "    action: block", "  - id: uninspectable",
              "    match: {category: uninspectable}", "    action: confirm"]
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write("\n".join(lines) + "\n")
    return p


def zip_bytes(members, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()


def tar_bytes(members, mode="w"):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode) as t:
        for name, data in members:
            data = data.encode() if isinstance(data, str) else data
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def libarchive_write(path, fmt, members):
    """Writes an archive with the system's libarchive through ctypes (for
    7z, which no standard module writes). Returns False when unavailable."""
    import ctypes
    import ctypes.util
    name = ctypes.util.find_library("archive")
    if not name:
        return False
    la = ctypes.CDLL(name)
    la.archive_write_new.restype = ctypes.c_void_p
    la.archive_entry_new.restype = ctypes.c_void_p
    for f in ("archive_write_set_format_" + fmt, "archive_write_open_filename",
              "archive_write_header", "archive_write_close", "archive_write_free",
              "archive_entry_set_pathname", "archive_entry_set_size",
              "archive_entry_set_filetype", "archive_entry_set_perm", "archive_entry_free",
              "archive_write_data"):
        getattr(la, f).argtypes = None
    a = ctypes.c_void_p(la.archive_write_new())
    if getattr(la, "archive_write_set_format_" + fmt)(a) != 0:
        return False
    if la.archive_write_open_filename(a, path.encode()) != 0:
        return False
    for mname, data in members:
        data = data.encode() if isinstance(data, str) else data
        e = ctypes.c_void_p(la.archive_entry_new())
        la.archive_entry_set_pathname(e, mname.encode())
        la.archive_entry_set_size(e, ctypes.c_int64(len(data)))
        la.archive_entry_set_filetype(e, 0o100000)
        la.archive_entry_set_perm(e, 0o644)
        la.archive_write_header(a, e)
        la.archive_write_data(a, data, ctypes.c_size_t(len(data)))
        la.archive_entry_free(e)
    la.archive_write_close(a)
    la.archive_write_free(a)
    return True


def zeros_deflate(mib):
    """A raw deflate stream of `mib` MiB of zeros, built from one flushed
    block repeated (compressing a GiB for real takes seconds)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc = 0
    z = bytes(1 << 20)
    for _ in range(mib):
        crc = zlib.crc32(z, crc)
    return block * mib + end, crc


def zip_raw(entries, overlap=False):
    """Hand-made zip: entries = [(name, method, compressed, crc, usize, flags)].
    With overlap, every central-directory entry points at the first local
    header (an overlapping-entry bomb)."""
    out = io.BytesIO()
    offs = []
    for (name, method, comp, crc, usize, flags) in entries:
        nb = name.encode()
        if overlap and offs:
            offs.append(offs[0])
            continue
        offs.append(out.tell())
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, flags, method, 0, 0, crc,
                              len(comp), min(usize, 0xFFFFFFFF), len(nb), 0))
        out.write(nb)
        out.write(comp)
    cd = out.tell()
    for (name, method, comp, crc, usize, flags), off in zip(entries, offs):
        nb = name.encode()
        if overlap:
            nb = entries[0][0].encode() if False else nb
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, flags, method, 0, 0,
                              crc, len(comp), min(usize, 0xFFFFFFFF), len(nb), 0, 0, 0, 0,
                              0, off))
        out.write(nb)
    end = out.tell()
    out.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(entries), len(entries),
                          end - cd, cd, 0))
    return out.getvalue()


def peak_rss_kib(args, env=None):
    """Runs args in a fresh Python so RUSAGE_CHILDREN covers only it."""
    code = ("import resource,subprocess,sys;"
            "p=subprocess.run(sys.argv[1:],capture_output=True);"
            "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    p = subprocess.run([sys.executable, "-c", code] + args, capture_output=True, env=env,
                       timeout=300)
    rc, kib = p.stdout.split()
    return int(rc), int(kib)


with tempfile.TemporaryDirectory() as d:
    def write(rel, data):
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return p

    # ---- encodings ---------------------------------------------------------
    if want("encodings"):
        cases = [
            ("utf16le-bom.txt", b"\xff\xfe" + BODY.encode("utf-16-le"), MARK),
            ("utf16be-bom.txt", b"\xfe\xff" + BODY.encode("utf-16-be"), MARK),
            ("utf16le.txt", BODY.encode("utf-16-le"), MARK),
            ("utf16be.txt", BODY.encode("utf-16-be"), MARK),
            ("gb18030.txt", BODY.encode("gb18030"), MARK),
            ("gbk.txt", BODY.encode("gbk"), MARK),
            ("gb2312.txt", BODY.encode("gb2312"), MARK),
            ("gbk-short.txt", MARK.encode("gbk"), MARK),
            ("big5.txt", "關於召開工作會議的通知\n機密★1年\n各單位：請於明日上午九時參加會議。\n"
             .encode("big5"), "機密★1年"),
            ("big5-short.txt", "機密★1年".encode("big5"), "機密★1年"),
            ("utf8-bom.txt", b"\xef\xbb\xbf" + BODY.encode(), MARK),
        ]
        for name, data, excerpt in cases:
            p = write("enc/" + name, data)
            rc, it, err = one(p)
            m = marks(it)
            check("encoding " + name, rc == 1 and it["verdict"] == "block" and m and
                  m[0]["excerpt"] == excerpt and it["status"] == "scanned", (it, err))
        # plain UTF-8 is read in process: offsets into the file, no location
        p = write("enc/plain.txt", BODY)
        rc, it, err = one(p)
        m = marks(it)
        check("plain-utf8-in-process", m and m[0]["location"] is None and
              open(p, "rb").read()[m[0]["start"]:m[0]["end"]].decode() == MARK and
              m[0].get("line") in (None, 2), it)
        # mail-like text: without MIME it reads the same as text and stays in
        # process; with a MIME header or an encoded word it goes to the mail
        # extractor, which decodes what text would miss (base64 here)
        p = write("enc/notes-from.txt", "From: Jack\nSubject: weekly\n\n" + BODY)
        rc, it, err = one(p)
        m = marks(it)
        check("mail-head-without-mime-in-process", m and m[0]["location"] is None and
              it["verdict"] == "block", it)
        b64 = base64.b64encode(BODY.encode()).decode()
        p = write("enc/mime.txt", "From: Jack\nSubject: weekly\nContent-Transfer-Encoding: base64"
                  "\nContent-Type: text/plain; charset=utf-8\n\n" + b64 + "\n")
        rc, it, err = one(p)
        check("mail-head-with-mime-decoded", marks(it) and marks(it)[0]["location"] is not None and
              it["verdict"] == "block", it)
        p = write("enc/encword.txt", "From: Jack\nSubject: =?utf-8?b?%s?=\n\nhello\n"
                  % base64.b64encode(MARK.encode()).decode())
        rc, it, err = one(p)
        check("mail-head-encoded-word-decoded", marks(it) and it["verdict"] == "block", it)
        # a UTF-16 file is extracted: its findings carry the file as location
        rc, it, err = one(os.path.join(d, "enc/utf16le.txt"))
        check("extracted-location", marks(it) and marks(it)[0]["location"] == "utf16le.txt", it)
        # binary of no known type: unscannable, never a silent allow
        p = write("enc/blob.bin", bytes(range(256)) * 64)
        rc, it, err = one(p)
        check("binary-unsupported", it["status"] == "unscannable" and
              has_rule(it, "uninspectable.unsupported") and it["verdict"] == "confirm", it)
        # an empty file is clean
        p = write("enc/empty.txt", b"")
        rc, it, err = one(p)
        check("empty-clean", rc == 0 and it["status"] == "scanned", it)

    # ---- archives ------------------------------------------------------------
    if want("archives"):
        member = [("drafts/plan.txt", BODY), ("readme.txt", "nothing here")]
        kinds = {
            "a.zip": zip_bytes(member),
            "stored.zip": zip_bytes(member, zipfile.ZIP_STORED),
            "a.tar": tar_bytes(member),
            "a.tar.gz": tar_bytes(member, "w:gz"),
            "a.tar.bz2": tar_bytes(member, "w:bz2"),
            "a.tar.xz": tar_bytes(member, "w:xz"),
            "a.rar": rar4_bytes(member),
            "a5.rar": rar5_bytes(member),
        }
        for name, data in kinds.items():
            p = write("arc/" + name, data)
            rc, it, err = one(p)
            m = marks(it)
            check("archive " + name, rc == 1 and it["status"] == "scanned" and m and
                  m[0]["location"] == name + "!drafts/plan.txt" and m[0]["excerpt"] == MARK,
                  (it, err))
        # zstd and zip are test dependencies (scripts/install-deps.sh): a
        # missing one fails its checks instead of skipping them
        check("zstd command", shutil.which("zstd"), "zstd is not installed")
        if shutil.which("zstd"):
            tar = write("arc/z.tar", tar_bytes(member))
            subprocess.run(["zstd", "-q", "-f", tar, "-o", tar + ".zst"], check=True)
            rc, it, err = one(tar + ".zst")
            check("archive tar.zst", marks(it) and
                  marks(it)[0]["location"] == "z.tar.zst!drafts/plan.txt", it)
            one_zst = write("arc/note.txt", BODY)
            subprocess.run(["zstd", "-q", "-f", one_zst, "-o", one_zst + ".zst"], check=True)
            rc, it, err = one(one_zst + ".zst")
            check("single zst", marks(it) and it["status"] == "scanned", it)
        # libarchive is a build dependency: a 7z it cannot write is a failure
        p7 = os.path.join(d, "arc/a.7z")
        if libarchive_write(p7, "7zip", member):
            rc, it, err = one(p7)
        else:
            it, err = {}, "libarchive (a build dependency) did not write the 7z fixture"
        check("archive a.7z", marks(it) and it["status"] == "scanned" and
              marks(it)[0]["location"] == "a.7z!drafts/plan.txt", (it, err))
        for name, comp in [("note.txt.gz", gzip.compress), ("note.txt.bz2", bz2.compress),
                           ("note.txt.xz", lzma.compress)]:
            p = write("arc/" + name, comp(BODY.encode()))
            rc, it, err = one(p)
            m = marks(it)
            check("single " + name, rc == 1 and m and m[0]["location"].startswith(name + "!")
                  and it["status"] == "scanned", it)
        # an archive inside an archive, and an encoding inside that
        inner = zip_bytes([("memo.txt", b"\xff\xfe" + BODY.encode("utf-16-le"))])
        outer = tar_bytes([("box/inner.zip", inner)], "w:gz")
        p = write("arc/nested.tgz", outer)
        rc, it, err = one(p)
        check("nested-location", marks(it) and
              marks(it)[0]["location"] == "nested.tgz!box/inner.zip!memo.txt", it)
        # stdin: a zip piped in is spooled and inspected
        rc, items, err, _ = scan(["-"], stdin=kinds["a.zip"])
        check("stdin-zip", items and marks(items[0]) and
              marks(items[0])[0]["location"] == "-!drafts/plan.txt", (items, err))
        # plain text piped in keeps line numbers
        rc, items, err, _ = scan(["-"], stdin=BODY.encode())
        check("stdin-text-line", items and marks(items[0]) and
              marks(items[0])[0].get("line") == 2, items)

    # ---- hostile archives -------------------------------------------------------
    if want("hostile"):
        # zip bomb: 1 GiB of zeros in one member, about 1 MB compressed
        comp, crc = zeros_deflate(1024)
        bomb = zip_raw([("zeros.bin", 8, comp, crc, 1 << 30, 0),
                        ("plan.txt", 0, BODY.encode(), zlib.crc32(BODY.encode()),
                         len(BODY.encode()), 0)])
        p = write("bad/bomb.zip", bomb)
        t = time.time()
        rc, kib = peak_rss_kib([CORDON, "scan", "--format", "json", "--no-progress", "--cache-dir",
                                CACHE, p])
        rc2, it, err = one(p)
        check("zip-bomb-bounded", time.time() - t < 30 and kib < 600 * 1024 and
              has_rule(it, "uninspectable.limit.ratio") and it["status"] == "partial" and
              it["verdict"] == "block", (kib, it))
        # overlapping entries: 200 central-directory entries share one kernel
        comp, crc = zeros_deflate(32)
        ents = [("f%03d" % i, 8, comp, crc, 32 << 20, 0) for i in range(200)]
        p = write("bad/overlap.zip", zip_raw(ents, overlap=True))
        t = time.time()
        rc, it, err = one(p)
        check("overlap-zip-bounded", time.time() - t < 30 and it["status"] in
              ("partial", "unscannable") and
              any(r.startswith("uninspectable.") for r in rules(it)), it)
        # password-protected zip: the encrypted member is uninspectable, the
        # plain one is still read
        check("zip command", shutil.which("zip"), "zip is not installed")
        if shutil.which("zip"):
            src = write("bad/zsrc/secret.txt", BODY)
            pz = os.path.join(d, "bad/pw.zip")
            subprocess.run(["zip", "-q", "-j", "-P", "pw", pz, src], check=True)
            rc, it, err = one(pz)
            check("password-zip", has_rule(it, "uninspectable.encrypted") and
                  it["status"] in ("partial", "unscannable") and it["verdict"] == "confirm", it)
        # a hand-made ZipCrypto-flagged member next to a plain one
        enc = zip_raw([("locked.txt", 0, os.urandom(40), 0, 28, 1),
                       ("open.txt", 0, BODY.encode(), zlib.crc32(BODY.encode()),
                        len(BODY.encode()), 0)])
        p = write("bad/flagged.zip", enc)
        rc, it, err = one(p)
        check("encrypted-flag", has_rule(it, "uninspectable.encrypted") and
              it["status"] == "partial" and marks(it), it)
        # truncated and corrupt
        good = zip_bytes([("a.txt", BODY * 50), ("b.txt", BODY * 50)])
        p = write("bad/truncated.zip", good[:len(good) // 2])
        rc, it, err = one(p)
        check("truncated-zip", it["status"] in ("partial", "unscannable") and
              any(r in ("uninspectable.truncated", "uninspectable.corrupt") for r in rules(it)),
              it)
        tgz = tar_bytes([("a.txt", BODY * 200)], "w:gz")
        p = write("bad/truncated.tgz", tgz[:len(tgz) // 2])
        rc, it, err = one(p)
        check("truncated-tgz", it["status"] in ("partial", "unscannable") and
              any(r in ("uninspectable.truncated", "uninspectable.corrupt") for r in rules(it)),
              it)
        # RAR (fixtures built by hand, see rar4_bytes): a member with the
        # password flag is uninspectable and the plain one next to it still
        # read; a flagged member alone is never allowed; encrypted headers
        # leave nothing to read; a RAR cut inside a member's data is reported
        p = write("bad/locked.rar", rar4_bytes([("locked.txt", BODY, True), ("open.txt", BODY)]))
        rc, it, err = one(p)
        check("encrypted-rar", rc == 1 and
              has_rule(it, "uninspectable.encrypted", "locked.rar!locked.txt") and
              it["status"] == "partial" and marks(it) and
              marks(it)[0]["location"] == "locked.rar!open.txt", (it, err))
        p = write("bad/locked-only.rar", rar4_bytes([("plan.txt", BODY, True)]))
        rc, it, err = one(p)
        check("encrypted-rar-only", rc == 1 and has_rule(it, "uninspectable.encrypted") and
              it["status"] in ("partial", "unscannable") and it["verdict"] == "confirm",
              (it, err))
        p = write("bad/headers.rar", rar4_bytes([("plan.txt", BODY)], archive_flags=0x80))
        rc, it, err = one(p)
        check("encrypted-rar-headers", rc == 1 and has_rule(it, "uninspectable.encrypted") and
              it["status"] == "unscannable" and it["verdict"] == "confirm", (it, err))
        # RAR 5: libarchive before 3.7 does not mark an encrypted member and
        # returns its ciphertext, which now and then reads as text and would
        # be scanned clean (src/extract/ex_archive.c reads the headers itself);
        # here the "ciphertext" is plain text, the worst case
        p = write("bad/locked5.rar", rar5_bytes([("locked.txt", "nothing here", True),
                                                 ("open.txt", BODY)]))
        rc, it, err = one(p)
        check("encrypted-rar5", rc == 1 and
              has_rule(it, "uninspectable.encrypted", "locked5.rar!locked.txt") and
              it["status"] == "partial" and marks(it) and
              marks(it)[0]["location"] == "locked5.rar!open.txt", (it, err))
        p = write("bad/locked5-only.rar", rar5_bytes([("notes.txt", "nothing here", True)]))
        rc, it, err = one(p)
        check("encrypted-rar5-only", rc == 1 and has_rule(it, "uninspectable.encrypted") and
              it["verdict"] == "confirm", (it, err))
        # members are matched to their headers in order: many members, an
        # encrypted one among them, a marked one after it, and a name used
        # twice whose second copy is the encrypted one
        many = [("m%04d.txt" % i, "nothing %d" % i) for i in range(400)]
        p = write("bad/many5.rar", rar5_bytes(many[:200] + [("same.txt", "nothing"),
                                                            ("same.txt", "nothing here", True),
                                                            ("plan.txt", BODY)] + many[200:]))
        rc, it, err = one(p)
        enc = [f["location"] for f in it.get("findings", []) if f["rule"] == "uninspectable.encrypted"]
        check("encrypted-rar5-many", rc == 1 and enc == ["many5.rar!same.txt"] and
              it["status"] == "partial" and marks(it) and
              marks(it)[0]["location"] == "many5.rar!plan.txt" and
              len(it["findings"]) == 2, (it, err))
        p = write("bad/headers5.rar", rar5_bytes([("plan.txt", BODY)], archive_encrypted=True))
        rc, it, err = one(p)
        check("encrypted-rar5-headers", rc == 1 and has_rule(it, "uninspectable.encrypted") and
              it["status"] == "unscannable" and it["verdict"] == "confirm", (it, err))
        for name, build in [("truncated.rar", rar4_bytes), ("truncated5.rar", rar5_bytes)]:
            whole = build([("a.txt", BODY * 50)])
            p = write("bad/" + name, whole[:len(whole) // 2])
            rc, it, err = one(p)
            # read up to the member, whose cut is reported on it
            check("truncated-" + name, rc == 1 and it["status"] == "partial" and
                  (has_rule(it, "uninspectable.truncated", name + "!a.txt") or
                   has_rule(it, "uninspectable.corrupt", name + "!a.txt")) and
                  it["verdict"] != "allow", (it, err))
        bad = bytearray(good)
        for i in range(60, 200):
            bad[i] ^= 0x5A
        p = write("bad/corrupt.zip", bytes(bad))
        rc, it, err = one(p)
        check("corrupt-zip", it["status"] in ("partial", "unscannable") and
              it["verdict"] != "allow", it)
        # a zip hidden behind 70 KiB of harmless text (past the caller's
        # 64 KiB sniff): read through the worker, the zip found at the end
        poly = ("午饭吃什么？\n" * 4000).encode() + zip_bytes([("plan.txt", BODY)])
        p = write("bad/lunch.txt", poly)
        rc, it, err = one(p)
        check("appended-zip", has_rule(it, "file.appended_archive") and marks(it) and
              marks(it)[0]["location"] == "lunch.txt!(appended zip)!plan.txt", it)
        rc, items, err, _ = scan(["-"], stdin=poly)
        check("appended-zip-pipe", items and has_rule(items[0], "uninspectable.binary") and
              items[0]["status"] == "partial", items)
        # deeply nested: 40 levels of zip in zip, far past the depth limit
        data = BODY.encode()
        for i in range(40):
            data = zip_bytes([("l%d.zip" % i if i else "plan.txt", data)])
        p = write("bad/deep.zip", data)
        t = time.time()
        rc, it, err = one(p)
        check("deep-nesting", time.time() - t < 20 and has_rule(it, "uninspectable.limit.depth")
              and it["status"] == "partial", it)

    # ---- limits from the policy -------------------------------------------------
    if want("limits"):
        data = BODY.encode()
        for i in range(3):
            data = zip_bytes([("l%d.zip" % i if i else "plan.txt", data)])
        p = write("lim/three.zip", data)
        ok3 = policy_with_limits(d, "depth3.yaml", {"depth": 3})
        ok2 = policy_with_limits(d, "depth2.yaml", {"depth": 2})
        rc, it, err = one(p, policy=ok3)
        check("depth-at-limit", marks(it) and it["status"] == "scanned", it)
        rc, it, err = one(p, policy=ok2)
        check("depth-over-limit", has_rule(it, "uninspectable.limit.depth") and
              not marks(it) and it["status"] == "partial", it)
        many = write("lim/many.zip", zip_bytes([("m%02d.txt" % i, "x") for i in range(30)]))
        rc, it, err = one(many, policy=policy_with_limits(d, "entries.yaml", {"entries": 10}))
        check("entries-limit", has_rule(it, "uninspectable.limit.entries"), it)
        big = write("lim/big.zip", zip_bytes([("big.txt", "a" * 200000), ("plan.txt", BODY)]))
        rc, it, err = one(big, policy=policy_with_limits(d, "member.yaml",
                                                          {"member_bytes": 100000}))
        check("member-limit", has_rule(it, "uninspectable.limit.member_bytes") and marks(it), it)
        rc, it, err = one(big, policy=policy_with_limits(d, "fb.yaml", {"file_bytes": 100}))
        check("file-bytes-limit", has_rule(it, "uninspectable.limit.file_bytes") and
              it["status"] == "unscannable", it)
        # Plain text is read straight into the segment: offsets stay exact
        # across reads, and binary after the 64 KiB head is never passed as
        # text (a file goes to the worker, a pipe is reported).
        line = "关于做好年度工作总结的通知，请各部门按时提交材料。\n".encode()
        body = line * ((3 << 20) // len(line))
        p = write("lim/long.txt", body + "机密★10年\n".encode())
        rc, it, err = one(p)
        check("long-text-offset", [(m["start"], m["end"]) for m in marks(it)] ==
              [(len(body), len(body) + len("机密★10年".encode()))], it)
        mixed = line * (70000 // len(line) + 1) + bytes(64) + "机密★10年 会议纪要\n".encode()
        p = write("lim/mixed.txt", mixed)
        rc, it, err = one(p)
        check("text-then-binary-file", marks(it) and marks(it)[0]["line"] is None and
              not has_rule(it, "uninspectable.binary"), it)
        rc, items, err, _ = scan(["-"], stdin=mixed)
        it = items[0] if items else {}
        check("text-then-binary-pipe", marks(it) and has_rule(it, "uninspectable.binary") and
              it["status"] == "partial", it)
        bad = policy_with_limits(d, "badlim.yaml", {"depth": 99})
        rc, items, err, _ = scan([big], policy=bad)
        check("limits-range-error", rc == 2 and "badlim.yaml:5:" in err, err)
        bad = policy_with_limits(d, "badkey.yaml", {"dept": 3})
        rc, items, err, _ = scan([big], policy=bad)
        check("limits-unknown-key", rc == 2 and "badkey.yaml:5:" in err and "dept" in err, err)
        bad = policy_with_limits(d, "badocr.yaml", {"ocr": "maybe"})
        rc, items, err, _ = scan([big], policy=bad)
        check("limits-bool", rc == 2 and "badocr.yaml:5:" in err, err)

    # ---- the worker: crash, timeout, mislabelled files -------------------------
    if want("worker"):
        z = write("wk/plan.zip", zip_bytes([("plan.txt", BODY)]))
        t = write("wk/plain.txt", BODY)
        rc, items, err, _ = scan([z, t], env={"CORDON_TEST_WORKER_CRASH": "1"})
        by = {os.path.basename(i["path"]): i for i in items}
        c = by.get("plan.zip", {})
        check("crash-unscannable", c.get("status") == "unscannable" and
              has_rule(c, "uninspectable.crash") and c.get("verdict") == "confirm", items)
        check("crash-scan-goes-on", marks(by.get("plain.txt", {})) and rc == 1, (rc, err))
        pol = policy_with_limits(d, "fast.yaml", {"total_ms": 300})
        t0 = time.time()
        rc, it, err = one(z, policy=pol, env={"CORDON_TEST_WORKER_HANG": "1"})
        check("timeout", time.time() - t0 < 10 and has_rule(it, "uninspectable.timeout") and
              it["status"] == "unscannable" and it["verdict"] == "confirm", it)
        # mislabelled: a .txt that is a zip, a .docx that is an executable,
        # a .jpg that is text
        p = write("wk/notes.txt", zip_bytes([("plan.txt", BODY)]))
        rc, it, err = one(p)
        check("mismatch-txt-zip", has_rule(it, "file.type_mismatch") and marks(it), it)
        p = write("wk/notes-clean.txt", zip_bytes([("a.txt", "hello")]))
        rc, it, err = one(p)
        check("mismatch-warns-inside", it["verdict"] == "warn", it)
        rc, it, err = one(p, scope="external")
        check("mismatch-confirms-outside", it["verdict"] == "confirm", it)
        p = write("wk/report.docx", b"MZ" + b"\x90\x00" * 30 + bytes(200))
        rc, it, err = one(p)
        check("mismatch-docx-exe", has_rule(it, "file.type_mismatch"), it)
        p = write("wk/photo.jpg", BODY)
        rc, it, err = one(p)
        check("mismatch-jpg-text", has_rule(it, "file.type_mismatch") and marks(it), it)
        inner = zip_bytes([("scan.pdf", BODY)])
        p = write("wk/in.zip", inner)
        rc, it, err = one(p)
        check("mismatch-member", has_rule(it, "file.type_mismatch", "in.zip!scan.pdf"), it)
        p = write("wk/ok.zip", zip_bytes([("plan.txt", BODY)]))
        rc, it, err = one(p)
        check("no-mismatch", not has_rule(it, "file.type_mismatch"), it)

    # ---- memory: a big text file streams in bounded memory ---------------------------
    if want("memory"):
        line = ("普通的工作消息，没有敏感内容。" * 20 + "\n").encode()
        p = os.path.join(d, "mem/big.txt")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            for _ in range((64 << 20) // len(line)):
                f.write(line)
            f.write(("\n" + MARK + "\n").encode())
        small = write("mem/small.txt", "你好\n")
        args = [CORDON, "scan", "--format", "json", "--no-progress", "--threads", "1",
                "--cache-dir", CACHE]
        rc0, base = peak_rss_kib(args + [small])
        rc1, big = peak_rss_kib(args + [p])
        check("big-text-found", rc1 == 1, rc1)
        # docs/FILES.md: plain text costs at most SEG_BLOCK (16 MiB) + 1 MiB
        # of buffers + the stream state above the baseline
        check("big-text-memory", big - base < 48 * 1024, "grew %d KiB" % (big - base))

    # ---- output formats show the location -------------------------------------------
    if want("output"):
        z = write("out/plan.zip", zip_bytes([("drafts/plan.txt", BODY)]))
        rc, _, err, out = scan([z], fmt="text")
        check("text-location", "plan.zip!drafts/plan.txt" in out, out)
        rc, _, err, out = scan([z], fmt="sarif")
        check("sarif-location", "plan.zip!drafts/plan.txt" in out, out)

shutil.rmtree(CACHE, ignore_errors=True)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
