#!/usr/bin/env python3
"""Detection cases: data-driven tests of the guard through `cordon check`.

usage: run_cases.py CORDON_BINARY CASES_DIR [NAME...]

Each CASES_DIR/*.case file is a header, a line '---', and the message text
(docs/TESTING.md describes the format). For each case the runner pipes the
text into `cordon check --scope S [--policy P] [--lexicon L]...`, parses the
JSON it prints and checks every expectation of the header, plus the contracts
that hold for every scan of plain text:

  - every finding's [start, end) is a byte span of the original text and the
    original bytes of that span decode to the finding's excerpt;
  - findings are sorted by start offset;
  - status is "scanned".

One line is printed per failed check, then exactly "N passed, N failed".
The exit status is 1 when any case failed. NAME arguments (case file names,
with or without .case) restrict the run to those cases.

Python 3 standard library only.
"""

import concurrent.futures
import json
import os
import subprocess
import sys

VERDICTS = ("allow", "warn", "mask", "confirm", "block")
CATEGORIES = ("marking", "lexicon", "pii", "secret", "link", "metadata", "image",
              "uninspectable")
KEYS_SINGLE = ("scope", "expect-verdict", "expect-rules", "reject-rules",
               "reject-categories", "expect-evasion", "policy")
KEYS_REPEAT = ("expect-span", "lexicon")
TIMEOUT = 120  # seconds for one `cordon check`


class CaseError(Exception):
    """The case file itself is malformed."""


def parse_case(path):
    """Returns (header dict, text bytes). Repeatable keys map to lists."""
    with open(path, "rb") as f:
        raw = f.read()
    head = {k: [] for k in KEYS_REPEAT}
    pos = 0
    lineno = 0
    while True:
        nl = raw.find(b"\n", pos)
        if nl < 0:
            raise CaseError("no '---' line before the text")
        line = raw[pos:nl]
        pos = nl + 1
        lineno += 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.strip() == b"---":
            break
        try:
            s = line.decode("utf-8")
        except UnicodeDecodeError:
            raise CaseError("line %d: header is not valid UTF-8" % lineno)
        if not s.strip() or s.lstrip().startswith("#"):
            continue
        if ":" not in s:
            raise CaseError("line %d: expected 'key: value'" % lineno)
        key, value = s.split(":", 1)
        key = key.strip()
        value = value.strip()
        # Values may carry a trailing comment, except spans (which are text).
        if key != "expect-span" and " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if key in KEYS_REPEAT:
            head[key].append(value)
        elif key in KEYS_SINGLE:
            if key in head:
                raise CaseError("line %d: '%s' given twice" % (lineno, key))
            head[key] = value
        else:
            raise CaseError("line %d: unknown key '%s'" % (lineno, key))
    text = raw[pos:]
    if text.endswith(b"\n"):
        text = text[:-1]
    return head, text


def check_header(head):
    scope = head.get("scope", "internal")
    if scope not in ("internal", "external", "inbound"):
        raise CaseError("scope must be internal, external or inbound, not %r" % scope)
    if "expect-verdict" not in head:
        raise CaseError("missing expect-verdict")
    for v in head["expect-verdict"].split():
        if v not in VERDICTS:
            raise CaseError("unknown verdict %r" % v)
    for c in head.get("reject-categories", "").split():
        if c not in CATEGORIES:
            raise CaseError("unknown category %r" % c)
    ev = head.get("expect-evasion")
    if ev is not None and ev not in ("yes", "no"):
        raise CaseError("expect-evasion must be yes or no, not %r" % ev)


def describe(findings):
    out = []
    for f in findings:
        out.append("%s[%s..%s conf=%s sev=%s ev=%s act=%s %r]" % (
            f.get("rule"), f.get("start"), f.get("end"), f.get("confidence"),
            f.get("severity"), "y" if f.get("evasion") else "n", f.get("action"),
            f.get("excerpt")))
    return "[" + ", ".join(out) + "]" if out else "[]"


def run_case(cordon, cases_dir, name):
    """Returns a list of failure messages (empty: passed)."""
    path = os.path.join(cases_dir, name)
    try:
        head, text = parse_case(path)
        check_header(head)
    except (CaseError, OSError) as e:
        return ["%s: bad case file: %s" % (name, e)]

    cmd = [cordon, "check", "--scope", head.get("scope", "internal")]
    if head.get("policy"):
        cmd += ["--policy", os.path.join(cases_dir, "policies", head["policy"])]
    for lx in head["lexicon"]:
        cmd += ["--lexicon", os.path.join(cases_dir, "lexicons", lx)]
    try:
        p = subprocess.run(cmd, input=text, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return ["%s: cordon check timed out after %ds" % (name, TIMEOUT)]
    except OSError as e:
        return ["%s: cannot run %s: %s" % (name, cordon, e)]
    err = p.stderr.decode("utf-8", "replace").strip()
    if p.returncode not in (0, 1):
        return ["%s: cordon check exited %d: %s" % (name, p.returncode, err)]
    try:
        res = json.loads(p.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return ["%s: output is not JSON (%s): %r" % (name, e, p.stdout[:300])]

    fails = []
    findings = res.get("findings") or []
    verdict = res.get("verdict")
    fl = describe(findings)

    def fail(msg):
        fails.append("%s: %s; findings %s" % (name, msg, fl))

    # Exit status follows the verdict.
    want_rc = 0 if verdict == "allow" else 1
    if p.returncode != want_rc:
        fail("exit status %d with verdict %s" % (p.returncode, verdict))

    want = head["expect-verdict"].split()
    if verdict not in want:
        fail("verdict: expected %s, got %s (decided_by %s)" %
             ("|".join(want), verdict, res.get("decided_by")))
    if res.get("status") != "scanned":
        fail("status: expected scanned, got %s" % res.get("status"))

    rules = [f.get("rule") for f in findings]
    expect_rules = head.get("expect-rules", "").split()
    for r in expect_rules:
        if r not in rules:
            fail("missing rule %s" % r)
    for r in head.get("reject-rules", "").split():
        if r in rules:
            fail("unwanted rule %s" % r)
    for c in head.get("reject-categories", "").split():
        if any(f.get("category") == c for f in findings):
            fail("unwanted category %s" % c)

    ev = head.get("expect-evasion")
    if ev is not None:
        # Among the expected rules' findings; among all when none is expected.
        among = [f for f in findings if not expect_rules or f.get("rule") in expect_rules]
        flags = [bool(f.get("evasion")) for f in among]
        what = " ".join(expect_rules) or "all findings"
        if ev == "yes" and not any(flags):
            fail("expected an evasion finding among %s" % what)
        if ev == "no" and any(flags):
            fail("expected no evasion finding among %s" % what)

    excerpts = [f.get("excerpt") for f in findings]
    for span in head["expect-span"]:
        if span not in excerpts:
            fail("no finding with excerpt %r" % span)

    # The offset-map contract, for every finding.
    last = -1
    for f in findings:
        s, e = f.get("start"), f.get("end")
        if not isinstance(s, int) or not isinstance(e, int) or not 0 <= s <= e <= len(text):
            fail("%s: span [%r, %r) outside the text (%d bytes)" %
                 (f.get("rule"), s, e, len(text)))
            continue
        orig = text[s:e].decode("utf-8", "replace")
        if orig != f.get("excerpt"):
            fail("%s: excerpt %r is not the original bytes [%d, %d) = %r" %
                 (f.get("rule"), f.get("excerpt"), s, e, orig))
        if s < last:
            fail("findings not sorted by start (%d after %d)" % (s, last))
        last = s
    return fails


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: run_cases.py CORDON_BINARY CASES_DIR [NAME...]\n")
        return 2
    cordon, cases_dir = argv[1], argv[2]
    names = sorted(n for n in os.listdir(cases_dir) if n.endswith(".case"))
    if len(argv) > 3:
        wanted = {a if a.endswith(".case") else a + ".case" for a in argv[3:]}
        names = [n for n in names if n in wanted]
    jobs = int(os.environ.get("CASES_JOBS", "0")) or min(16, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        results = list(ex.map(lambda n: run_case(cordon, cases_dir, n), names))
    passed = failed = 0
    for fails in results:
        if fails:
            failed += 1
            for line in fails:
                print(line)
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
