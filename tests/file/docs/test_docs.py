#!/usr/bin/env python3
"""Document extractors, end to end: generates every fixture (fixtures.py)
into a temporary directory, runs the real `cordon scan --format json` on each
and checks status, findings and their locations.

usage: test_docs.py CORDON [NAME...]   (names select cases, for debugging)

Each case: file name, builder, expected status, findings that must be there as
(rule, location) — the rule an exact id or a prefix ending in '.', the
location exact — and, optionally, findings that must NOT be there (rule,
excerpt). A case must finish within its time bound: the hostile ones
(entity expansion, zip bomb) prove they are stopped, not just survived.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as F  # noqa: E402

M, ID, PH = "marking.classified", "pii.cn_id", "pii.cn_mobile"
U = "uninspectable."

try:
    import cairo  # noqa: F401
    HAVE_CAIRO = True
except ImportError:
    HAVE_CAIRO = False


def trunc(build):
    return lambda: (lambda d: d[:len(d) // 2])(build())


# name, builder, status, must have [(rule, location)], must not have [(rule, excerpt)]
CASES = [
    ("plan.docx", F.full_docx, "scanned",
     [(M, "plan.docx!word/footnotes.xml"), (M, "plan.docx!docProps/custom.xml"),
      (ID, "plan.docx!word/comments.xml"), (ID, "plan.docx!word/document.xml"),  # deleted text
      (PH, "plan.docx!word/document.xml")], []),  # text box
    ("budget.xlsx", F.xlsx, "scanned",
     [(M, "budget.xlsx!xl/worksheets/sheet1.xml (sheet Budget)"),
      (ID, "budget.xlsx!xl/worksheets/sheet2.xml (sheet 人员)"),
      (PH, "budget.xlsx!xl/sharedStrings.xml")], []),  # a string no cell uses
    ("deck.pptx", F.pptx, "scanned",
     [(M, "deck.pptx!ppt/slides/slide1.xml"), (PH, "deck.pptx!ppt/notesSlides/notesSlide1.xml")],
     []),
    ("laughs.docx", F.billion_laughs_docx, "partial",
     [(U + "corrupt", "laughs.docx!word/document.xml"), (M, "laughs.docx!word/footnotes.xml")],
     []),
    ("bomb.docx", F.zip_bomb_docx, "partial",
     [(U + "limit.ratio", "bomb.docx!word/document.xml"), (M, "bomb.docx!word/footnotes.xml")],
     []),
    ("cut.docx", trunc(F.full_docx), "unscannable", [(U + "truncated", "cut.docx")], []),
    ("protected.docx", F.ooxml_encrypted, "unscannable", [(U + "encrypted", "protected.docx")],
     []),
    ("brief.odt", F.odt, "scanned",
     [(M, "brief.odt!content.xml"), (PH, "brief.odt!content.xml"), (ID, "brief.odt!styles.xml"),
      (M, "brief.odt!meta.xml")], []),
    ("list.ods", F.ods, "scanned", [(ID, "list.ods!content.xml"), (M, "list.ods!content.xml")],
     []),
    ("protected.odt", F.odt_encrypted, "unscannable", [(U + "encrypted", "protected.odt")], []),
    ("cut.odt", trunc(F.odt), "unscannable", [(U + "truncated", "cut.odt")], []),
    ("memo.rtf", F.rtf, "scanned",
     [(M, "memo.rtf!body"), (PH, "memo.rtf!body"), (ID, "memo.rtf!body"),
      (M, "memo.rtf!metadata"), (ID, "memo.rtf!object 1 secret.txt")], []),
    ("cut.rtf", trunc(F.rtf), "partial", [(U + "truncated", "cut.rtf")], []),
    ("page.html", F.html, "scanned",
     [(M, "page.html!html"), (PH, "page.html!html"), (ID, "page.html!html")],
     [(PH, "13900000000")]),  # inside <script>: not text
    ("laughs.xml", F.xml_billion_laughs, "partial", [(U + "corrupt", "laughs.xml")], []),
    ("mail.eml", F.eml, "scanned",
     [(M, "mail.eml!headers"), (PH, "mail.eml!body"), (ID, "mail.eml!body.html"),
      (M, "mail.eml!attachment plan.docx!word/footnotes.xml"),
      (M, "mail.eml!message 1.eml!body")], []),
    ("legacy.doc", F.doc, "scanned",
     [(M, "legacy.doc!body"), (PH, "legacy.doc!body"), (ID, "legacy.doc!body"),
      (M, "legacy.doc!properties")], []),
    ("protected.doc", F.doc_encrypted, "partial",
     [(U + "encrypted", "protected.doc"), (M, "protected.doc!properties")], []),
    ("cut.doc", trunc(F.doc), "partial", [(U + "corrupt", "cut.doc!WordDocument")], []),
    ("deck.ppt", F.ppt, "scanned",
     [(M, "deck.ppt!PowerPoint Document"), (PH, "deck.ppt!PowerPoint Document")], []),
    # code is reported, not read: the inbound policy holds programs and macros
    ("invoice.docm", F.docm_macro, "scanned", [("file.macro", "invoice.docm")], []),
    ("invoice.odt", F.odt_macro, "scanned", [("file.macro", "invoice.odt")], []),
    ("setup.exe", F.pe_exe, "unscannable",
     [("file.executable", "setup.exe"), (U + "unsupported", "setup.exe")], []),
]
if HAVE_CAIRO:
    CASES += [
        ("text.pdf", F.pdf_text, "scanned", [(M, "text.pdf!page 2")], []),
        ("meta.pdf", F.pdf_meta, "scanned", [(M, "meta.pdf!metadata"), (PH, "meta.pdf!metadata")],
         []),
        ("cut.pdf", trunc(F.pdf_text), "unscannable", [(U + "truncated", "cut.pdf")], []),
        # the page is rendered and handed to the image extractor: whatever it
        # finds (OCR text, a masthead, or that it could not read the page)
        # is located on the page
        ("scan.pdf", F.pdf_image_only, None, [("", "scan.pdf!page 1")], []),
    ]
CASES += [
    ("protected.pdf", F.pdf_encrypted, "unscannable", [(U + "encrypted", "protected.pdf")], []),
    ("corrupt.pdf", F.pdf_corrupt, "unscannable", [(U + "corrupt", "corrupt.pdf")], []),
]

TIME_BOUND = 60.0  # seconds per file, OCR of a page included


def matches(f, rule, loc):
    r = f["rule"]
    ok_rule = (r == rule) or (rule.endswith(".") and r.startswith(rule)) or rule == ""
    floc = f.get("location") or ""
    ok_loc = floc == loc or (rule == "" and floc.startswith(loc))
    return ok_rule and ok_loc


def main():
    cordon = sys.argv[1]
    only = set(sys.argv[2:])
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, build, status, want, reject in CASES:
            if only and name not in only:
                continue
            path = os.path.join(tmp, name)
            with open(path, "wb") as fh:
                fh.write(build())
            t0 = time.monotonic()
            p = subprocess.run([cordon, "scan", "--format", "json", "--no-progress", path],
                               capture_output=True, timeout=TIME_BOUND * 2)
            dt = time.monotonic() - t0
            errs = []
            try:
                item = json.loads(p.stdout.decode().splitlines()[0])
            except (ValueError, IndexError):
                item = {"status": None, "findings": []}
                errs.append("no JSON item (exit %d): %s" % (p.returncode, p.stderr[-300:]))
            got = item.get("findings", [])
            if status and item.get("status") != status:
                errs.append("status %s, want %s" % (item.get("status"), status))
            for rule, loc in want:
                if not any(matches(f, rule, loc) for f in got):
                    errs.append("missing %s at %s" % (rule or "any finding", loc))
            for rule, excerpt in reject:
                if any(f["rule"] == rule and excerpt in (f.get("excerpt") or "") for f in got):
                    errs.append("unexpected %s %s" % (rule, excerpt))
            if dt > TIME_BOUND:
                errs.append("took %.1f s" % dt)
            if errs:
                failed += 1
                print("FAIL %s: %s" % (name, "; ".join(errs)))
                for f in got:
                    print("    got %s at %s: %r" % (f["rule"], f.get("location"),
                                                   (f.get("excerpt") or "")[:40]))
            else:
                passed += 1
                print("ok   %s (%.2f s, %d findings)" % (name, dt, len(got)))
    if not HAVE_CAIRO:
        print("note: python3-cairo missing: PDF fixtures from cairo skipped")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
