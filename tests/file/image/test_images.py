#!/usr/bin/env python3
"""The image extractor end to end, through the real `cordon scan` and
`cordon strip`.

usage: test_images.py CORDON GEN_IMAGES_PY WORKDIR

Generates the fixtures (gen_images.py) into WORKDIR, then checks one
expectation per fixture: the photographed official document (clean render
and phone photo) is caught with the marking read again from its header
lines; photo metadata (EXIF in JPEG/PNG/WebP, XMP, PNG text chunks) is
reported; a QR code's phishing link is judged; a 50,000×50,000 PNG header is
refused within bounds; truncated and corrupt files of every format are
uninspectable, never a silent allow; an innocent picture of text is allowed;
`cordon strip` removes the metadata and keeps the pixels. Pages turned a
quarter, half or three quarters, stored sideways with EXIF Orientation 6
(a phone's portrait shot) or tilted 12° are still caught; an innocent page
turned is still allowed; stripping an oriented photo keeps its Orientation
and nothing else (read back with libexif).

Prints one line per failed check and "N passed, N failed"; exit status 1
when anything failed. Needs python3-pil (for the fixtures and the pixel
comparison).
"""

import concurrent.futures
import ctypes
import ctypes.util
import json
import os
import re
import resource
import struct
import subprocess
import sys
import time

from PIL import Image

CORDON, GEN, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
FX = os.path.join(WORK, "fx")
failures = []
passed = 0


def check(name, ok, detail=""):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(f"{name}: {detail}")


def scan(path, scope="internal", policy=None):
    """Runs `cordon scan --format json` on one file; returns (result, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run([CORDON, "scan", "--no-progress", "--scope", scope,
                        "--format", "json"] + (["--policy", policy] if policy else []) + [path],
                       capture_output=True, timeout=300)
    dt = time.monotonic() - t0
    if p.returncode not in (0, 1):
        return {"error": p.stderr.decode(errors="replace")}, dt
    return json.loads(p.stdout.decode().splitlines()[0]), dt


def findings(res, rule=None, location=None):
    return [f for f in res.get("findings", [])
            if (rule is None or f["rule"] == rule or
                (rule.endswith(".") and f["rule"].startswith(rule)))
            and (location is None or f["location"] == location)]


def summary(res):
    return json.dumps({"verdict": res.get("verdict"), "status": res.get("status"),
                       "error": res.get("error"),
                       "findings": [(f["rule"], f["confidence"], f["location"],
                                     f["excerpt"][:40]) for f in res.get("findings", [])]},
                      ensure_ascii=False)


def check_message(text, scope="internal"):
    """`cordon check` on one message: the server's inspection of a text."""
    p = subprocess.run([CORDON, "check", "--scope", scope], input=text.encode(),
                       capture_output=True, timeout=300)
    if p.returncode not in (0, 1):
        return {"error": p.stderr.decode(errors="replace")}
    return json.loads(p.stdout.decode())


def marked_docx():
    """A minimal .docx whose body says 机密★10年."""
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="xml" ContentType='
                   '"application/xml"/><Override PartName="/word/document.xml" ContentType='
                   '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.'
                   'main+xml"/></Types>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                   'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>机密★10年</w:t></w:r></w:p>'
                   '<w:p><w:r><w:t>会议纪要</w:t></w:r></w:p></w:body></w:document>')
    return buf.getvalue()


def embedded_checks(f):
    """Files smuggled into a message as text (base64, data: URLs) are
    inspected as the files they are; tokens and hashes that merely look like
    base64 are left alone."""
    import base64
    gps = open(f("gps.jpg"), "rb").read()
    b64 = base64.b64encode(gps).decode()
    wrapped = "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))

    r = check_message("看看这张照片 " + b64 + " 好看吗", "external")
    check("base64 gps.jpg in a message: not allowed out",
          r.get("verdict") == "confirm" and findings(r, "metadata.gps") and
          findings(r, "metadata.gps")[0]["location"].startswith("(base64 at byte 19)"), summary(r))
    r = check_message("照片：\n" + wrapped + "\n", "external")
    check("base64 gps.jpg wrapped at 76", findings(r, "metadata.gps"), summary(r))
    r = check_message('<img src="data:image/jpeg;base64,' + b64 + '">', "external")
    check("data: URL gps.jpg", findings(r, "metadata.gps") and
          findings(r, "metadata.gps")[0]["location"].startswith("(data:image/jpeg at byte 10)"),
          summary(r))
    r = check_message("附件 " + base64.urlsafe_b64encode(marked_docx()).decode().rstrip("="))
    check("url-safe base64 .docx with 机密★10年: block", r.get("verdict") == "block" and
          findings(r, "marking.classified") and
          findings(r, "marking.classified")[0]["location"].endswith("!word/document.xml"),
          summary(r))
    r = check_message("转发：" + base64.b64encode("机密★10年 关于某项目的请示".encode()).decode())
    check("base64 of marked text: block", r.get("verdict") == "block", summary(r))
    # glued to a word or a dot: runs are maximal, nothing before hides one
    r = check_message("x." + base64.b64encode(marked_docx()).decode())
    check("base64 after 'x.': still read", r.get("verdict") == "block", summary(r))
    # traps: hashes, a JWT, a key fingerprint stay allowed
    hashes = "\n".join("commit %064x" % (i * 7919 + 10 ** 20) for i in range(40))
    r = check_message(hashes)
    check("40 commit hashes: allow", r.get("verdict") == "allow", summary(r))
    jwt = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ik"
           "pvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
    r = check_message("token 样例 " + jwt)
    check("a sample JWT: no embedded-file finding",
          not [x for x in r.get("findings", []) if (x.get("location") or "").startswith("(")],
          summary(r))
    # what cannot be inspected is not passed
    r = check_message("data:application/pdf;base64,JVBERi0xLjQKx")
    check("a data: URL that does not decode: uninspectable",
          findings(r, "uninspectable.corrupt") and r.get("verdict") != "allow", summary(r))
    r = check_message("data:application/pdf;base64,JVBERi0xLjQK!!!")
    check("a data: URL of a cut PDF: uninspectable",
          findings(r, "uninspectable.") and r.get("verdict") != "allow", summary(r))
    many = " ".join(base64.b64encode(("第%d份 普通通知内容 无敏感信息" % i).encode()).decode()
                    for i in range(20))
    r = check_message(many)
    check("20 encoded texts: the rest past 16 is uninspectable",
          findings(r, "uninspectable.limit.embedded") and r.get("verdict") != "allow",
          summary(r))


def jpeg_segments(data):
    """Marker bytes of a JPEG's segments up to the first scan."""
    out, p = [], 2
    while p + 4 <= len(data) and data[p] == 0xFF:
        m = data[p + 1]
        out.append(m)
        if m == 0xDA:
            break
        p += 2 + struct.unpack(">H", data[p + 2:p + 4])[0]
    return out


class ExifEntry(ctypes.Structure):
    _fields_ = [("tag", ctypes.c_int), ("format", ctypes.c_int),
                ("components", ctypes.c_ulong), ("data", ctypes.POINTER(ctypes.c_ubyte)),
                ("size", ctypes.c_uint)]


class ExifContent(ctypes.Structure):
    _fields_ = [("entries", ctypes.POINTER(ctypes.POINTER(ExifEntry))),
                ("count", ctypes.c_uint)]


class ExifData(ctypes.Structure):
    _fields_ = [("ifd", ctypes.POINTER(ExifContent) * 5)]


def exif_block(data):
    """The TIFF structure of a JPEG's APP1 Exif, a PNG's eXIf or a WebP's
    EXIF, or None."""
    if data[:2] == b"\xff\xd8":
        p = 2
        while p + 4 <= len(data) and data[p] == 0xFF and data[p + 1] != 0xDA:
            n = struct.unpack(">H", data[p + 2:p + 4])[0]
            if data[p + 1] == 0xE1 and data[p + 4:p + 10] == b"Exif\0\0":
                return data[p + 10:p + 2 + n]
            p += 2 + n
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        p = 8
        while p + 8 <= len(data):
            n = struct.unpack(">I", data[p:p + 4])[0]
            if data[p + 4:p + 8] == b"eXIf":
                return data[p + 8:p + 8 + n]
            p += 12 + n
    elif data[:4] == b"RIFF":
        p = 12
        while p + 8 <= len(data):
            n = struct.unpack("<I", data[p + 4:p + 8])[0]
            if data[p:p + 4] == b"EXIF":
                return data[p + 8:p + 8 + n]
            p += 8 + n + (n & 1)
    return None


def libexif_entries(data):
    """Every (ifd, tag, first SHORT value or None) libexif reads from the
    file's EXIF, loaded as is (no entries added to follow the standard)."""
    lib = ctypes.CDLL(ctypes.util.find_library("exif") or "libexif.so.12")
    lib.exif_data_new.restype = ctypes.POINTER(ExifData)
    lib.exif_data_unset_option.argtypes = [ctypes.POINTER(ExifData), ctypes.c_int]
    lib.exif_data_load_data.argtypes = [ctypes.POINTER(ExifData), ctypes.c_char_p, ctypes.c_uint]
    lib.exif_data_get_byte_order.argtypes = [ctypes.POINTER(ExifData)]
    lib.exif_get_short.argtypes = [ctypes.POINTER(ctypes.c_ubyte), ctypes.c_int]
    lib.exif_get_short.restype = ctypes.c_uint16
    lib.exif_data_unref.argtypes = [ctypes.POINTER(ExifData)]
    block = exif_block(data)
    if block is None:
        return []
    ed = lib.exif_data_new()
    for opt in (1, 2):  # IGNORE_UNKNOWN_TAGS, FOLLOW_SPECIFICATION
        lib.exif_data_unset_option(ed, opt)
    raw = b"Exif\0\0" + block
    lib.exif_data_load_data(ed, raw, len(raw))
    order = lib.exif_data_get_byte_order(ed)
    out = []
    for i in range(5):
        c = ed.contents.ifd[i]
        if not c:
            continue
        for k in range(c.contents.count):
            e = c.contents.entries[k].contents
            v = lib.exif_get_short(e.data, order) if e.format == 3 and e.size >= 2 else None
            out.append((i, e.tag, v))
    lib.exif_data_unref(ed)
    return out


def png_chunks(data):
    out, p = [], 8
    while p + 8 <= len(data):
        n = struct.unpack(">I", data[p:p + 4])[0]
        out.append(data[p + 4:p + 8].decode("latin-1"))
        p += 12 + n
    return out


def set_limit(policy, key, value):
    """The policy text with settings.limits.KEY set to VALUE."""
    line = re.compile(r"^    " + re.escape(key) + r":.*$", re.M)
    if line.search(policy):
        return line.sub(f"    {key}: {value}", policy, count=1)
    if re.search(r"^  limits:\n", policy, re.M):
        return re.sub(r"^  limits:\n", f"  limits:\n    {key}: {value}\n", policy, count=1,
                      flags=re.M)
    return policy.replace("\nsettings:\n", f"\nsettings:\n  limits:\n    {key}: {value}\n", 1)


def main():
    subprocess.run([sys.executable, GEN, FX], check=True)
    f = lambda name: os.path.join(FX, name)

    # ---- hostile header first, so the children's peak memory is its own ----
    res, dt = scan(f("huge_header.png"))
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    check("huge_header.png limit", findings(res, "uninspectable.limit.pixels") and
          res.get("status") == "unscannable" and res.get("verdict") == "confirm", summary(res))
    check("huge_header.png bounded", dt < 10 and peak_mb < 200,
          f"{dt:.1f}s, peak {peak_mb:.0f} MB")

    # Policies with other limits: the default one with settings.limits added.
    default = open(os.path.join(ROOT, "data", "policy", "default.yaml"), encoding="utf-8").read()
    policies = {}
    for name, key, value in (("ocr_1ms", "ocr_ms", "1"), ("no_ocr", "ocr", "false")):
        path = os.path.join(WORK, f"policy_{name}.yaml")
        with open(path, "w", encoding="utf-8") as out:
            out.write(set_limit(default, key, value))
        policies[name] = path

    # ---- everything else, two scans at a time ----
    jobs = {
        "page_clean.png": ("internal",), "page_photo.jpg": ("internal",),
        "page_unmarked.png": ("external",), "page_copyno.png": ("external",),
        "page_bare_level.png": ("internal",), "page_bare_level_photo.jpg": ("internal",),
        "plain_text.png": ("internal",), "gps.jpg": ("internal",),
        "gps.jpg@external": ("external",), "gps.png": ("internal",),
        "gps.webp": ("internal",), "xmp.jpg": ("internal",),
        "text_chunks.png": ("internal",), "nometa.jpg": ("internal",),
    }
    if os.path.exists(f("qr_phish.png")):
        jobs["qr_phish.png"] = ("internal",)
    for ext in ("jpg", "png", "webp", "tif", "gif", "bmp"):
        for kind in ("bad_trunc", "bad_corrupt", "ok"):
            jobs[f"{kind}.{ext}"] = ("internal",)
    for name in ("page_rot90.jpg", "page_rot180.jpg", "page_rot270.jpg", "page_exif6.jpg",
                 "page_exif6.png", "page_exif8.tif", "page_tilt12.jpg", "plain_rot90.png",
                 "marked_text.png", "marked_text_rot90.png"):
        jobs[name] = ("internal",)
    jobs["pages.tif"] = ("internal",)
    jobs["anim.gif"] = ("internal",)
    jobs["page_clean.png@ocr_1ms"] = ("internal", policies["ocr_1ms"])
    jobs["page_clean.png@no_ocr"] = ("internal", policies["no_ocr"])
    results, times = {}, {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        futs = {ex.submit(scan, f(k.split("@")[0]), *v): k for k, v in jobs.items()}
        for fut in concurrent.futures.as_completed(futs):
            results[futs[fut]], times[futs[fut]] = fut.result()

    # The photographed official document: the image cue by colour and layout,
    # and the marking read again from the header lines ("ocr header").
    for name in ("page_clean.png", "page_photo.jpg"):
        r = results[name]
        rh = findings(r, "image.red_header", name)
        mk = findings(r, "marking.classified", name + "!ocr header")
        check(name + " red header", rh and rh[0]["confidence"] >= 70, summary(r))
        check(name + " marking from the header re-read",
              mk and mk[0]["excerpt"].startswith("机密") and mk[0]["action"] == "block",
              summary(r))
        check(name + " verdict", r.get("verdict") == "block", summary(r))

    # Turned pages: without EXIF (the masthead shows when the page is
    # turned), stored sideways with Orientation 6 (applied before analysis),
    # tilted 12° (deskew's wider search). Each is read upright: the marking
    # from the header re-read, the verdict block.
    for name in ("page_rot90.jpg", "page_rot180.jpg", "page_rot270.jpg", "page_exif6.jpg",
                 "page_exif6.png", "page_exif8.tif", "page_tilt12.jpg"):
        r = results[name]
        mk = findings(r, "marking.classified")
        check(name + " red header", findings(r, "image.red_header", name), summary(r))
        check(name + " marking", mk and mk[0]["excerpt"].startswith("机密") and
              mk[0]["action"] == "block", summary(r))
        check(name + " verdict", r.get("verdict") == "block", summary(r))
    # A typed notice with a marking and no masthead, turned a quarter: its
    # text says which way up it is (Tesseract OSD); the upright one too.
    for name in ("marked_text.png", "marked_text_rot90.png"):
        r = results[name]
        mk = findings(r, "marking.classified", name + "!ocr header")
        check(name + " marking", mk and mk[0]["excerpt"].startswith("机密"), summary(r))
        check(name + " verdict", r.get("verdict") == "block", summary(r))
    r = results["plain_rot90.png"]
    check("plain_rot90.png allowed", r.get("verdict") == "allow" and
          not findings(r, "marking.") and not findings(r, "image.red_header"), summary(r))

    # A red header alone (masthead, 发文字号, an urgency word) is an ordinary
    # notice: a reminder, not a hold. The same page with a 份号 is a
    # numbered, controlled copy: held.
    r = results["page_unmarked.png"]
    check("page_unmarked.png red header", findings(r, "image.red_header") and
          not findings(r, "marking.classified") and not findings(r, "marking.doc_number"),
          summary(r))
    check("page_unmarked.png verdict warn", r.get("verdict") == "warn", summary(r))
    r = results["page_copyno.png"]
    check("page_copyno.png 份号", findings(r, "image.red_header") and
          findings(r, "marking.doc_number") and not findings(r, "marking.classified"),
          summary(r))
    check("page_copyno.png verdict confirm", r.get("verdict") == "confirm" and
          r.get("decided_by") == "official-document-image", summary(r))

    # A bare 秘密 beside the 份号 under the masthead: a marking, blocked, on
    # the clean render and on the phone photo, where the first reading of
    # the line is Latin letters ("Se") and the Chinese-only re-read of the
    # header line recovers it.
    for name in ("page_bare_level.png", "page_bare_level_photo.jpg"):
        r = results[name]
        mk = findings(r, "marking.classified", name + "!ocr header")
        check(name + " bare level from the header re-read",
              mk and mk[0]["excerpt"] == "秘密" and mk[0]["action"] == "block", summary(r))
        check(name + " verdict", r.get("verdict") == "block", summary(r))

    # Limits from the policy: OCR cut at its deadline is partial, with the
    # masthead still found; OCR off still finds the masthead and reads nothing.
    r = results["page_clean.png@ocr_1ms"]
    check("ocr_ms limit", findings(r, "uninspectable.limit.ocr_time") and
          r.get("status") == "partial" and findings(r, "image.red_header"), summary(r))
    r = results["page_clean.png@no_ocr"]
    check("ocr off", findings(r, "image.red_header") and r.get("status") == "scanned" and
          not [x for x in r["findings"] if "ocr" in (x["location"] or "")], summary(r))

    # A multi-page TIFF and an animated GIF: the second page or frame has its
    # own location.
    r = results["pages.tif"]
    check("pages.tif page 2", findings(r, "marking.classified", "pages.tif!page 2 ocr") and
          not findings(r, "marking.classified", "pages.tif!ocr"), summary(r))

    r = results["anim.gif"]
    check("anim.gif frame 2", findings(r, "marking.classified", "anim.gif!frame 2 ocr"),
          summary(r))

    r = results["plain_text.png"]
    check("plain_text.png allowed", r.get("verdict") == "allow" and
          not findings(r, "marking.classified") and not findings(r, "image.red_header") and
          not findings(r, "marking."),
          summary(r))

    for name in ("gps.jpg", "gps.png", "gps.webp"):
        r = results[name]
        g = findings(r, "metadata.gps", name + "!metadata")
        check(name + " gps", g and g[0]["excerpt"] == "39.904200 N, 116.407400 E", summary(r))
        check(name + " time+device", findings(r, "metadata.capture_time") and
              findings(r, "metadata.device") and
              "SN12345678" in findings(r, "metadata.device")[0]["excerpt"], summary(r))
    check("gps.jpg internal: warn", results["gps.jpg"].get("verdict") == "warn",
          summary(results["gps.jpg"]))
    check("gps.jpg external: confirm", results["gps.jpg@external"].get("verdict") == "confirm",
          summary(results["gps.jpg@external"]))

    r = results["xmp.jpg"]
    check("xmp.jpg", findings(r, "metadata.gps") and findings(r, "metadata.software") and
          findings(r, "marking.classified", "xmp.jpg!metadata"), summary(r))
    r = results["text_chunks.png"]
    check("text_chunks.png", findings(r, "marking.classified", "text_chunks.png!metadata"),
          summary(r))
    r = results["nometa.jpg"]
    check("nometa.jpg", not findings(r, "metadata.") and r.get("verdict") == "allow", summary(r))

    r = results.get("qr_phish.png", {"error": "no qr_phish.png fixture: is qrencode installed?"})
    check("qr_phish.png", findings(r, "link.", "qr_phish.png!qr") and
          r.get("verdict") == "block", summary(r))
    check("qr_phish.png code reported", findings(r, "image.qr_code", "qr_phish.png!qr"),
          summary(r))

    for ext in ("jpg", "png", "webp", "tif", "gif", "bmp"):
        for kind in ("bad_trunc", "bad_corrupt"):
            r = results[f"{kind}.{ext}"]
            u = findings(r, "uninspectable.")
            check(f"{kind}.{ext} uninspectable",
                  u and u[0]["rule"] in ("uninspectable.truncated", "uninspectable.corrupt") and
                  r.get("status") in ("partial", "unscannable") and r.get("verdict") != "allow",
                  summary(r))
        r = results[f"ok.{ext}"]
        check(f"ok.{ext} scanned", r.get("status") == "scanned" and r.get("verdict") == "allow",
              summary(r))

    # ---- cordon strip ----
    for name in ("gps.jpg", "xmp.jpg", "gps.png", "gps.webp", "text_chunks.png", "ok.gif",
                 "ok.tif", "ok.bmp"):
        out = os.path.join(WORK, "stripped_" + name)
        p = subprocess.run([CORDON, "strip", f(name), "-o", out], capture_output=True)
        if p.returncode != 0:
            check("strip " + name, False, p.stderr.decode(errors="replace"))
            continue
        a, b = Image.open(f(name)), Image.open(out)
        check("strip " + name + " pixels", a.size == b.size and a.mode == b.mode and
              a.tobytes() == b.tobytes(), f"{a.size} {a.mode} vs {b.size} {b.mode}")
        data = open(out, "rb").read()
        if name.endswith(".jpg"):
            segs = jpeg_segments(data)
            check("strip " + name + " segments", 0xE1 not in segs and 0xFE not in segs and
                  0xED not in segs and b"Exif" not in data and b"xmpmeta" not in data,
                  [hex(m) for m in segs])
        if name.endswith(".png"):
            ch = png_chunks(data)
            check("strip " + name + " chunks",
                  not set(ch) & {"eXIf", "tEXt", "zTXt", "iTXt", "tIME"}, ch)
        if name.endswith(".webp"):
            check("strip " + name + " chunks", b"EXIF" not in data and
                  struct.unpack("<I", data[4:8])[0] + 8 == len(data), len(data))
        r, _ = scan(out)
        check("strip " + name + " rescan", not findings(r, "metadata.") and
              not findings(r, "marking."), summary(r))
    # A portrait phone photo (stored sideways, Orientation 6, with GPS, time
    # and device): stripped, the pixels are the same and the EXIF holds the
    # Orientation alone, so it is still shown upright; no GPS, time or
    # device survives.
    for name in ("page_exif6.jpg", "page_exif6.png", "page_exif6.webp"):
        out = os.path.join(WORK, "stripped_" + name)
        p = subprocess.run([CORDON, "strip", f(name), "-o", out], capture_output=True)
        if p.returncode != 0:
            check("strip " + name, False, p.stderr.decode(errors="replace"))
            continue
        before = libexif_entries(open(f(name), "rb").read())
        data = open(out, "rb").read()
        after = libexif_entries(data)
        check("strip " + name + " fixture has GPS and Make", (0, 0x0112, 6) in before and
              any(e[0] == 3 for e in before) and any(e[1] == 0x010F for e in before), before)
        check("strip " + name + " Orientation alone", after == [(0, 0x0112, 6)], after)
        a, b = Image.open(f(name)), Image.open(out)
        check("strip " + name + " pixels", a.size == b.size and a.tobytes() == b.tobytes(),
              f"{a.size} vs {b.size}")
        check("strip " + name + " shown upright", b.getexif().get(0x0112) == 6 and
              b"Huawei" not in data and b"2023:09:01" not in data, dict(b.getexif()))
        if name.endswith(".webp"):
            check("strip " + name + " RIFF size and VP8X flag",
                  struct.unpack("<I", data[4:8])[0] + 8 == len(data) and
                  data[12:16] == b"VP8X" and data[20] & 0x08, len(data))
        if name.endswith(".jpg"):  # one rescan: the tag written back is applied
            r, _ = scan(out)
            check("strip " + name + " rescan", not findings(r, "metadata.") and
                  r.get("verdict") == "block", summary(r))
    # A scanner's TIFF keeps no tag (Leptonica writes none) and no make or
    # time: its pixels are turned upright instead, exactly (lossless), so
    # it is shown as before — both quarter turns (Leptonica's reader turns
    # 8 the wrong way by itself: the extractor finishes the turn).
    # (compared with the picture they were made from: Pillow applies the
    # tag itself when libtiff decodes, so its reading of them is no witness)
    shown = Image.open(f("page_upright.png")).convert("RGB")
    for name in ("page_exif6.tif", "page_exif8.tif"):
        out = os.path.join(WORK, "stripped_" + name)
        p = subprocess.run([CORDON, "strip", f(name), "-o", out], capture_output=True)
        if p.returncode != 0:
            check("strip " + name, False, p.stderr.decode(errors="replace"))
            continue
        b = Image.open(out)
        check("strip " + name + " upright, the same pixels",
              b.size == shown.size and b.convert("RGB").tobytes() == shown.tobytes(),
              f"{b.size} vs {shown.size} shown")
        data = open(out, "rb").read()
        check("strip " + name + " no tag, make or time",
              b.getexif().get(0x0112) in (None, 1) and b"Huawei" not in data and
              b"2023:09:01" not in data, dict(b.getexif()))
    bad_out = os.path.join(WORK, "stripped_bad.jpg")
    p = subprocess.run([CORDON, "strip", f("bad_trunc.jpg"), "-o", bad_out], capture_output=True)
    check("strip refuses a cut JPEG", p.returncode == 2 and not os.path.exists(bad_out),
          p.stderr.decode(errors="replace"))
    p = subprocess.run([CORDON, "strip", f("gps.jpg"), "-o", f("gps.jpg")], capture_output=True)
    check("strip refuses in place", p.returncode == 2 and os.path.getsize(f("gps.jpg")) > 0,
          p.stderr.decode(errors="replace"))

    embedded_checks(f)

    slow = sorted(times.items(), key=lambda kv: -kv[1])[:3]
    print("slowest scans: " + ", ".join(f"{k} {v:.1f}s" for k, v in slow))
    for line in failures:
        print("FAIL " + line)
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
