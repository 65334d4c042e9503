#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_text and fuzz_archive (fuzz/corpus/text,
fuzz/corpus/archive): small inputs that reach the interesting paths of
ex_text.c and ex_archive.c. Deterministic; run from anywhere:

    python3 fuzz/gen_core_corpus.py

Crashers found by fuzzing are added to the same directories by hand (named
crash-<sha1>), and every file replays in the normal test run.
"""
import bz2
import gzip
import hashlib
import io
import lzma
import os
import struct
import sys
import tarfile
import zipfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "file", "core"))
from rar_fixtures import rar4_bytes, rar5_bytes  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MARK = "机密★1年"
BODY = "关于召开工作会议的通知\n" + MARK + "\n各单位：请于明日上午九时参加会议。\n"


def put(kind, name, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def zip_bytes(members, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, compress_type=method)
    return b.getvalue()


def tar_bytes(members, mode="w"):
    if mode == "w:gz":  # tarfile's gzip header would carry the time of day
        return gzip.compress(tar_bytes(members), mtime=0)
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode) as t:
        for name, data in members:
            data = data.encode() if isinstance(data, str) else data
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def zip_raw(entries, overlap=False):
    out = io.BytesIO()
    offs = []
    for (name, method, comp, crc, usize, flags) in entries:
        if overlap and offs:
            offs.append(offs[0])
            continue
        offs.append(out.tell())
        nb = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, flags, method, 0, 0, crc,
                              len(comp), usize, len(nb), 0) + nb + comp)
    cd = out.tell()
    for (name, method, comp, crc, usize, flags), off in zip(entries, offs):
        nb = name.encode()
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, flags, method, 0, 0,
                              crc, len(comp), usize, len(nb), 0, 0, 0, 0, 0, off) + nb)
    end = out.tell()
    out.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(entries), len(entries),
                          end - cd, cd, 0))
    return out.getvalue()


# ---- text: every encoding path -------------------------------------------
texts = {
    "utf8": BODY.encode(),
    "utf8-bom": b"\xef\xbb\xbf" + BODY.encode(),
    "utf8-invalid": BODY.encode()[:10] + b"\xff\xfe\xc0\x80" + BODY.encode()[10:],
    "utf8-cut": BODY.encode()[:-1],
    "utf16le-bom": b"\xff\xfe" + BODY.encode("utf-16-le"),
    "utf16be-bom": b"\xfe\xff" + BODY.encode("utf-16-be"),
    "utf16le": BODY.encode("utf-16-le"),
    "utf16be": BODY.encode("utf-16-be"),
    "utf16-odd": b"\xff\xfe" + BODY.encode("utf-16-le") + b"\x41",
    "utf16-lone-surrogate": b"\xff\xfe" + b"\x00\xd8\x41\x00" * 8,
    "utf32le-bom": b"\xff\xfe\x00\x00" + BODY.encode("utf-32-le"),
    "utf32be-bom": b"\x00\x00\xfe\xff" + BODY.encode("utf-32-be"),
    "gb18030": BODY.encode("gb18030"),
    "gb18030-4byte": ("𠀀" + BODY).encode("gb18030"),
    "gbk-short": MARK.encode("gbk"),
    "big5": "關於召開工作會議的通知\n機密★1年\n".encode("big5"),
    "big5-short": "機密★1年".encode("big5"),
    "eucjp": "機密文書です".encode("euc-jp"),
    "sjis": "機密文書です".encode("shift_jis"),
    "euckr": "기밀 문서".encode("euc-kr"),
    "latin1": "Café confidentiel - SECRET".encode("latin-1"),
    "iso2022jp": "機密".encode("iso2022_jp"),
    "binary": bytes(range(256)),
    "nul-run": b"\x00" * 64,
    "empty": b"",
    "one": b"\xa1",
    "cr-only": b"\r" * 100,
}
for name, data in texts.items():
    put("text", name, data)

# ---- archives: each format, nesting, and the hostile ones ---------------------
member = [("drafts/plan.txt", BODY), ("readme.txt", "nothing")]
z = zip_bytes(member)
put("archive", "zip", z)
put("archive", "zip-stored", zip_bytes(member, zipfile.ZIP_STORED))
put("archive", "zip-bzip2", zip_bytes(member, zipfile.ZIP_BZIP2))
put("archive", "zip-lzma", zip_bytes(member, zipfile.ZIP_LZMA))
put("archive", "zip-nested", zip_bytes([("inner.zip", z), ("x.tar", tar_bytes(member))]))
put("archive", "zip-deep", zip_bytes([("a.zip", zip_bytes([("b.zip", zip_bytes(
    [("c.zip", z)]))]))]))
put("archive", "zip-dirs", zip_bytes([("d/", ""), ("d/e/", ""), ("d/e/f.txt", BODY)]))
put("archive", "zip-utf16-member", zip_bytes([("m.txt", b"\xff\xfe" +
                                               BODY.encode("utf-16-le"))]))
put("archive", "zip-truncated", z[:len(z) // 2])
put("archive", "zip-no-cd", z[:z.rfind(b"PK\x01\x02")])
bad = bytearray(z)
for i in range(40, 90):
    bad[i] ^= 0x33
put("archive", "zip-corrupt", bytes(bad))
put("archive", "zip-encrypted-flag", zip_raw([("locked.txt", 0, bytes(40), 0, 28, 1),
                                              ("open.txt", 0, BODY.encode(),
                                               zlib.crc32(BODY.encode()), len(BODY.encode()),
                                               0)]))
c = zlib.compressobj(9, zlib.DEFLATED, -15)
kernel = c.compress(bytes(4 << 20)) + c.flush()
put("archive", "zip-bomb-small", zip_raw([("zeros", 8, kernel, zlib.crc32(bytes(4 << 20)),
                                           4 << 20, 0)]))
put("archive", "zip-overlap", zip_raw([("f%d" % i, 8, kernel, zlib.crc32(bytes(4 << 20)),
                                        4 << 20, 0) for i in range(20)], overlap=True))
put("archive", "zip-lying-size", zip_raw([("big", 0, BODY.encode(), 0, 0xFFFFFFF0, 0)]))
put("archive", "zip-name-bang", zip_bytes([("a!b/../../c.txt", BODY), ("\u6a5f\u5bc6.txt", BODY)]))
put("archive", "tar", tar_bytes(member))
put("archive", "tar-gz", tar_bytes(member, "w:gz"))
put("archive", "tar-bz2", tar_bytes(member, "w:bz2"))
put("archive", "tar-xz", tar_bytes(member, "w:xz"))
put("archive", "rar4", rar4_bytes(member))
put("archive", "rar4-encrypted", rar4_bytes([("locked.txt", BODY, True), ("open.txt", BODY)]))
put("archive", "rar5", rar5_bytes(member + [("b.txt", BODY)]))
put("archive", "rar5-encrypted", rar5_bytes([("locked.txt", BODY, True), ("open.txt", BODY)]))
put("archive", "rar5-truncated", rar5_bytes(member)[:60])
t = tar_bytes(member, "w:gz")
put("archive", "tar-gz-truncated", t[:len(t) // 2])
put("archive", "gz", gzip.compress(BODY.encode(), mtime=0))
put("archive", "bz2", bz2.compress(BODY.encode()))
put("archive", "xz", lzma.compress(BODY.encode()))
put("archive", "lzma-alone", lzma.compress(BODY.encode(), format=lzma.FORMAT_ALONE))
put("archive", "gz-of-zip", gzip.compress(z, mtime=0))
put("archive", "gz-concat", gzip.compress(b"a", mtime=0) + gzip.compress(BODY.encode(), mtime=0))
put("archive", "zip-appended", ("午饭\n" * 100).encode() + zip_bytes([("plan.txt", MARK)]))
put("archive", "empty", b"")
put("archive", "junk", hashlib.sha256(b"junk").digest() * 8)
print("corpora written under", os.path.join(HERE, "corpus"))
