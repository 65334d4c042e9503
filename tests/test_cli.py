#!/usr/bin/env python3
"""End-to-end tests of the `cordon` command as people and scripts use it.

usage: test_cli.py CORDON_BINARY SOURCE_ROOT

Runs the real binary on files it writes into a temporary directory and checks
what a user relies on: JSON Lines shape and values, exit codes, directory
recursion, stdin, stream mode for big files, fail-closed on binary and
unreadable files, policy errors with file:line, SARIF validity, `check`.
Prints "N passed, N failed" last.
"""
import json
import os
import subprocess
import sys
import tempfile

CORDON, ROOT = sys.argv[1], sys.argv[2]
passed = failed = 0


def run(args, stdin=None):
    p = subprocess.run([CORDON] + args, input=stdin, capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail))


def jsonl(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


REQUIRED_ITEM = {"path", "verdict", "status", "findings"}
REQUIRED_FINDING = {"rule", "category", "severity", "confidence", "start", "end", "location",
                    "excerpt"}
VERDICTS = {"allow", "warn", "confirm", "mask", "block"}
CATEGORIES = {"marking", "lexicon", "pii", "secret", "link", "metadata", "image", "uninspectable"}

with tempfile.TemporaryDirectory() as d:
    def write(rel, data):
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return p

    marked = write("docs/notice.txt", "000123\n机密★1年\n特急\n关于开展保密检查的通知\n")
    clean = write("docs/clean.txt", "明天上午十点开会，请准时参加。\n")
    pii = write("docs/deep/pii.txt", "身份证号：110101199003074514\n")
    binary = write("docs/blob.bin", b"\x00\x01\x02binary\x00" * 100)

    # JSON Lines: one object per item, required keys and values
    rc, out, err = run(["scan", "--format", "json", "--threads", "2", "--no-progress",
                        os.path.join(d, "docs")])
    items = jsonl(out)
    check("scan-exit-1-when-findings", rc == 1, "rc=%d err=%s" % (rc, err))
    check("scan-recurses", sorted(os.path.basename(i["path"]) for i in items) ==
          ["blob.bin", "clean.txt", "notice.txt", "pii.txt"], str([i.get("path") for i in items]))
    by = {os.path.basename(i["path"]): i for i in items}
    for i in items:
        check("item-keys " + i["path"], REQUIRED_ITEM <= set(i), str(sorted(i)))
        check("verdict-value", i["verdict"] in VERDICTS, i["verdict"])
        check("status-value", i["status"] in {"scanned", "partial", "unscannable"}, i["status"])
        for f in i["findings"]:
            check("finding-keys", REQUIRED_FINDING <= set(f), str(sorted(f)))
            check("category-value", f["category"] in CATEGORIES, f["category"])
    if len(by) == 4:
        n = by["notice.txt"]
        check("marked-blocks", n["verdict"] == "block", n["verdict"])
        mk = [f for f in n["findings"] if f["rule"] == "marking.classified"]
        check("marking-found", len(mk) == 1, str(n["findings"]))
        if mk:
            raw = open(marked, "rb").read()
            check("offsets-into-original",
                  raw[mk[0]["start"]:mk[0]["end"]].decode() == mk[0]["excerpt"] == "机密★1年",
                  str(mk[0]))
            check("location-null-for-text", mk[0]["location"] is None)
        check("clean-allows", by["clean.txt"]["verdict"] == "allow" and
              not by["clean.txt"]["findings"], str(by["clean.txt"]))
        check("pii-found", any(f["rule"] == "pii.cn_id" for f in by["pii.txt"]["findings"]))
        b = by["blob.bin"]
        check("binary-fail-closed", b["status"] == "unscannable" and b["verdict"] != "allow" and
              any(f["category"] == "uninspectable" for f in b["findings"]), str(b))

    # line and column: byte column in JSON (as ripgrep's --column), code
    # points in SARIF, over long and short lines, blank lines and CJK text
    filler = "这一行只是普通的工作安排，没有任何需要注意的内容。" * 3 + "\n"
    text = filler * 37 + "\n\nabc\n" + "请联系13912345678或者\n" + filler + "机密★1年\n"
    posf = write("pos/lines.txt", text)
    rc, out, err = run(["scan", "--format", "json", "--no-progress", posf])
    got = {f["rule"]: (f["line"], f["column"]) for f in jsonl(out)[0]["findings"]} if out else {}
    check("json-line-column", got.get("pii.cn_mobile") == (41, len("请联系".encode()) + 1) and
          got.get("marking.classified") == (43, 1), str(got))
    rc, out, err = run(["scan", "--format", "sarif", "--no-progress", posf])
    try:
        res = json.loads(out)["runs"][0]["results"]
        reg = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"] for r in res}
    except (ValueError, KeyError, IndexError):
        reg = {}
    m = reg.get("pii.cn_mobile", {})
    check("sarif-line-ucol", (m.get("startLine"), m.get("startColumn"), m.get("endColumn")) ==
          (41, 4, 15), str(m))

    # a text flooded with candidate matches (more than the scan buffers)
    # is held as uninspectable, never passed as clean; ".co" inside every
    # ".com" takes no room, so a marking after 4M of them is still found
    flood = write("flood/cn.txt", ".cn" * 5592000 + "\n")
    rc, out, err = run(["scan", "--format", "json", "--no-progress", flood])
    it = jsonl(out)[0] if out.strip() else {}
    check("flood-fail-closed", it.get("verdict") not in (None, "allow") and
          it.get("status") == "partial" and
          any(f["rule"] == "uninspectable.candidates" for f in it.get("findings", [])),
          str(it)[:300])
    dense = write("flood/com.txt", ".com" * 4194000 + "\nTOP SECRET\n")
    rc, out, err = run(["scan", "--format", "json", "--no-progress", dense])
    it = jsonl(out)[0] if out.strip() else {}
    check("dense-tld-marking-found", it.get("verdict") == "block" and
          any(f["rule"] == "marking.banner" for f in it.get("findings", [])), str(it)[:300])
    os.remove(flood)
    os.remove(dense)

    # an empty directory: nothing to report, exit 0 (UBSan, in the
    # sanitizer build, caught qsort on its NULL entry array)
    empty = os.path.join(d, "emptydir")
    os.makedirs(empty)
    rc, out, err = run(["scan", "--format", "json", "--no-progress", empty])
    check("empty-dir", rc == 0 and not out.strip(), "rc=%d out=%r err=%r" % (rc, out, err))

    # exit 0 when everything is allow
    rc, out, err = run(["scan", "--format", "json", "--no-progress", clean])
    check("scan-exit-0-clean", rc == 0 and jsonl(out)[0]["verdict"] == "allow", "rc=%d" % rc)

    # unreadable / missing files: reported, the scan goes on, exit 2
    rc, out, err = run(["scan", "--format", "json", "--no-progress",
                        os.path.join(d, "missing.txt"), clean])
    check("missing-exit-2", rc == 2, "rc=%d" % rc)
    check("missing-reported", "missing.txt" in err, err)
    check("scan-goes-on", any(i.get("path", "").endswith("clean.txt") for i in jsonl(out)), out)

    # stdin with '-'
    rc, out, err = run(["scan", "--format", "json", "--no-progress", "-"],
                       stdin="TOP SECRET\nplan\n".encode())
    items = jsonl(out)
    check("stdin-scanned", rc == 1 and items and items[0]["verdict"] == "block", out + err)

    # stream mode (here: input over the policy's max_message_bytes) reports
    # a marking line that ends the input once, as block mode does: Hyperscan
    # reported a multiline $ before the final line feed twice in streams
    rules = "rules:\n  - id: m\n    match: {category: marking}\n    action: warn\n"
    blockpol = write("block.yaml", "version: 1\n" + rules)
    streampol = write("stream.yaml", "version: 1\nsettings:\n  max_message_bytes: 1\n" + rules)
    for text in ["正文\n内部\n", "正文\n内部", "正文\n注意保存 \n", "正文\nTOP SECRET\n", "特急\n"]:
        got = []
        for pol in (blockpol, streampol):
            rc, out, err = run(["scan", "--format", "json", "--no-progress", "--policy", pol, "-"],
                               stdin=text.encode())
            got.append(jsonl(out))
        ok = got[0] and got[0] == got[1] and len(got[0][0]["findings"]) == 1
        check("stream-last-line-once %r" % text, ok, str(got))

    # text format masks personal data in excerpts; JSON does not
    rc, out, err = run(["scan", "--format", "text", "--color", "never", "--no-progress", pii])
    check("text-masks-pii", "110101199003074514" not in out and "110" in out, out)
    rc, out, err = run(["scan", "--format", "json", "--no-progress", pii])
    check("json-keeps-excerpt", "110101199003074514" in out, out)

    # a big file goes through stream mode and still finds matches at its end
    big = write("big/big.txt", ("普通的工作消息，没有敏感内容。" * 40 + "\n") * 20000 +
                "身份证 110101199003074514\n")
    size = os.path.getsize(big)
    check("big-file-is-big", size > 16 * 1024 * 1024, str(size))
    rc, out, err = run(["scan", "--format", "json", "--no-progress", big])
    items = jsonl(out)
    ok = items and any(f["rule"] == "pii.cn_id" for f in items[0]["findings"])
    if ok:
        f = [f for f in items[0]["findings"] if f["rule"] == "pii.cn_id"][0]
        with open(big, "rb") as fh:
            fh.seek(f["start"])
            ok = fh.read(f["end"] - f["start"]).decode() == "110101199003074514"
    check("stream-finds-at-end-with-offsets", ok, out[:500] + err)

    # a lexicon and its file:line errors
    lex = write("lex.txt", "红色预案\tplans\thigh\n")
    msg = write("msg.txt", "讨论紅色預案的细节\n")
    rc, out, err = run(["scan", "--format", "json", "--no-progress", "--lexicon", lex, msg])
    items = jsonl(out)
    check("lexicon-traditional", items and items[0]["verdict"] == "block" and
          items[0]["findings"][0]["rule"] == "lexicon.plans", out)
    badlex = write("badlex.txt", "ok\nterm\tcat\tsevere\n")
    rc, out, err = run(["scan", "--no-progress", "--lexicon", badlex, msg])
    check("bad-lexicon-exit-2", rc == 2, "rc=%d" % rc)
    check("bad-lexicon-file-line", "badlex.txt:2:" in err, err)
    badpol = write("bad.yaml", "version: 1\nrules:\n  - id: x\n    action: explode\n")
    rc, out, err = run(["scan", "--no-progress", "--policy", badpol, msg])
    check("bad-policy-file-line", rc == 2 and "bad.yaml:4:" in err, "rc=%d %s" % (rc, err))

    # More findings than one item's report may hold (a policy can keep up to a
    # million): the verdict and every count survive, findings are cut.
    bigcap = write("bigcap.yaml", "version: 1\nsettings:\n  findings_cap: 1000000\nrules:\n"
                   "  - id: pii\n    match: {category: pii}\n    action: warn\n")
    dense = write("dense.txt", "电话13812345678 " * 200000)
    rc, out, err = run(["scan", "--format", "json", "--no-progress", "--policy", bigcap, dense])
    items = jsonl(out)
    ok = (rc == 1 and len(items) == 1 and items[0]["verdict"] == "warn" and
          len(items[0]["findings"]) + items[0].get("findings_dropped", 0) == 200000 and
          items[0].get("findings_dropped", 0) > 0)
    check("huge-report-keeps-verdict", ok,
          "rc=%d %s %s" % (rc, err[:200], {k: v for k, v in (items[0] if items else {}).items()
                                           if k != "findings"}))

    # SARIF 2.1.0
    rc, out, err = run(["scan", "--format", "sarif", "--no-progress", marked, clean])
    try:
        s = json.loads(out)
        res = s["runs"][0]["results"]
        ok = (s["version"] == "2.1.0" and s["runs"][0]["tool"]["driver"]["name"] == "cordon" and
              any(r["ruleId"] == "marking.classified" and r["level"] == "error" for r in res))
    except Exception as e:  # noqa: BLE001 - any malformed output is the failure
        ok, out = False, "%s: %s" % (e, out[:300])
    check("sarif-valid", ok, out[:300])

    # check: one message on stdin, verdict JSON, scope changes the verdict
    rc, out, err = run(["check", "--scope", "external"], stdin="手机 13812345678".encode())
    try:
        v = json.loads(out)
    except ValueError:
        v = {}
    check("check-mask-external", rc == 1 and v.get("verdict") == "mask" and
          "13812345678" not in v.get("masked", "13812345678"), out + err)
    rc, out, err = run(["check", "--scope", "internal"], stdin="手机 13812345678".encode())
    v = json.loads(out) if out.strip() else {}
    check("check-warn-internal", v.get("verdict") == "warn", out)
    rc, out, err = run(["check"], stdin="午饭吃什么？".encode())
    v = json.loads(out) if out.strip() else {}
    check("check-allow-exit-0", rc == 0 and v.get("verdict") == "allow", out)
    rc, out, err = run(["check"], stdin=b"\xff\xfe\xe6\x9c\xba\xe5\xaf\x86\xe2\x98\x851\xe5\xb9\xb4")
    v = json.loads(out) if out.strip() else {}
    check("check-invalid-utf8", v.get("verdict") == "block" and v.get("invalid_utf8", 0) >= 1, out)

    # usage errors
    rc, out, err = run(["scan", "--format", "xml", clean])
    check("bad-format-exit-2", rc == 2, "rc=%d" % rc)
    rc, out, err = run(["frobnicate"])
    check("unknown-subcommand-exit-2", rc == 2, "rc=%d" % rc)

    # the bundled sample the README's quick start scans
    rc, out, err = run(["scan", "--format", "json", "--no-progress", os.path.join(ROOT, "data/sample")])
    check("sample-has-a-block", rc == 1 and any(i["verdict"] == "block" for i in jsonl(out)), out)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
