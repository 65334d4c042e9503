#!/usr/bin/env python3
"""bench/detect/run.py — the guard's detection benchmark: precision, recall
and F2 per category and per evasion class (docs/BENCH.md, "Detection").

usage: run.py [--cordon PATH] [--seed N] [--per-class N] [--last FILE]
              [--no-save] [--misses N]

Generates the cases (gen_cases.py, same directory), writes each to a file of
its own, runs `cordon scan --format json --scope S` once per scope over them,
and prints a table: per category and per evasion class, the positives caught
(TP) and missed (FN), the traps flagged (FP), precision, recall and F2
(recall weighted: F2 = 5PR / (4P + R)), each next to the previous run's
figure from --last (default bench/detect/last.json) with the difference.
Then the targets: recall >= 99% in every evasion class of text, and no
false positive on any trap. The result replaces --last unless --no-save.

A positive is caught when the scan has a finding of one of its `rules` and
the verdict is at least its `min` (confirm for markings: held or blocked;
block for lower-level markings and look-alike links sent out; mask for an ID
number sent out). A trap is a false positive when the verdict is not allow.

Exit status: 0 when it ran (targets missed or not), 1 when it could not.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import gen_cases  # noqa: E402

RANK = {"allow": 0, "warn": 1, "mask": 2, "confirm": 3, "block": 4}
RECALL_TARGET = 0.99


def scan(cordon, directory, scope, cache):
    cmd = [cordon, "scan", "--format", "json", "--scope", scope, "--no-progress",
           "--cache-dir", cache, directory]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr[-500:]))
    out = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        out[os.path.basename(r["path"])[:-4]] = r
    return out


def caught(case, res):
    if RANK.get(res.get("verdict"), 0) < RANK[case["min"]]:
        return False
    return any(f["rule"] in case["rules"] for f in res.get("findings", []))


def metrics(tp, fn, fp):
    """precision (None: nothing flagged), recall (None: no positives), F2"""
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    if r is None:
        f2 = None
    elif not p or not r:
        f2 = 0.0
    else:
        f2 = 5 * p * r / (4 * p + r)
    return p, r, f2


def tally(cases, results):
    rows = {}
    misses = {}
    for c in cases:
        res = results[c["id"]]
        keys = [("category", c["category"]), ("class", c["category"] + "/" + c["cls"])]
        for k in keys:
            t = rows.setdefault(k[0] + ":" + k[1], {"tp": 0, "fn": 0, "fp": 0, "tn": 0})
            if c["positive"]:
                t["tp" if caught(c, res) else "fn"] += 1
            else:
                t["fp" if res.get("verdict") != "allow" else "tn"] += 1
        bad = caught(c, res) != c["positive"] if c["positive"] else res.get("verdict") != "allow"
        if bad:
            misses.setdefault(c["category"] + "/" + c["cls"], []).append(
                (c["text"], res.get("verdict"), [f["rule"] for f in res.get("findings", [])]))
    for t in rows.values():
        t["precision"], t["recall"], t["f2"] = metrics(t["tp"], t["fn"], t["fp"])
    return rows, misses


def pct(x):
    return "   -  " if x is None else "%5.1f%%" % (100 * x)


def delta(new, old):
    if new is None or old is None:
        return "      "
    d = 100 * (new - old)
    return "  =   " if abs(d) < 0.05 else "%+5.1f " % d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cordon", default=os.path.join(ROOT, "build", "src", "tool", "cordon"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-class", type=int, default=40)
    ap.add_argument("--last", default=os.path.join(HERE, "last.json"))
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--misses", type=int, default=3, help="missed cases shown per class")
    a = ap.parse_args()

    cases = gen_cases.Gen(a.seed, a.per_class).run()
    results = {}
    with tempfile.TemporaryDirectory() as work:
        cache = os.path.join(work, "cache")
        os.mkdir(cache)
        for scope in ("internal", "external"):
            d = os.path.join(work, scope)
            os.mkdir(d)
            for c in cases:
                if c["scope"] == scope:
                    with open(os.path.join(d, c["id"] + ".txt"), "w", encoding="utf-8") as f:
                        f.write(c["text"])
            if os.listdir(d):
                try:
                    results.update(scan(a.cordon, d, scope, cache))
                except (OSError, RuntimeError) as e:
                    print("run.py: %s" % e, file=sys.stderr)
                    return 1
    missing = [c["id"] for c in cases if c["id"] not in results]
    if missing:
        print("run.py: no result for %d cases (%s ...)" % (len(missing), missing[0]),
              file=sys.stderr)
        return 1
    rows, misses = tally(cases, results)

    old = {}
    try:
        with open(a.last, encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError):
        pass
    old_rows = old.get("rows", {})
    if old:
        print("previous run: %s (%s)" % (old.get("date", "?"), old.get("commit", "?")))
    print("%-30s %5s %5s %5s %5s  %6s %6s  %6s %6s  %6s %6s" % (
        "category / evasion class", "TP", "FN", "FP", "TN", "prec", "Δ", "recall", "Δ", "F2",
        "Δ"))
    for kind in ("category", "class"):
        for key in sorted(k for k in rows if k.startswith(kind + ":")):
            t, o = rows[key], old_rows.get(key, {})
            print("%-30s %5d %5d %5d %5d  %s %s  %s %s  %s %s" % (
                key.split(":", 1)[1], t["tp"], t["fn"], t["fp"], t["tn"],
                pct(t["precision"]), delta(t["precision"], o.get("precision")),
                pct(t["recall"]), delta(t["recall"], o.get("recall")),
                pct(t["f2"]), delta(t["f2"], o.get("f2"))))
        print()

    failed = 0
    for key in sorted(rows):
        t = rows[key]
        if key.startswith("class:") and t["recall"] is not None and t["recall"] < RECALL_TARGET:
            print("MISS recall %s %s < %.0f%%" % (key[6:], pct(t["recall"]).strip(),
                                                100 * RECALL_TARGET))
            failed += 1
        if key.startswith("class:") and t["fp"]:
            print("MISS false positives %s: %d" % (key[6:], t["fp"]))
            failed += 1
    if not failed:
        print("PASS recall >= %.0f%% in every evasion class, no false positive on the traps" %
              (100 * RECALL_TARGET))
    for cls in sorted(misses):
        for text, verdict, rules in misses[cls][:a.misses]:
            print("  %-28s %-8s %-40s %s" % (cls, verdict, json.dumps(text, ensure_ascii=False),
                                           ",".join(rules)))

    if not a.no_save:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        with open(a.last, "w", encoding="utf-8") as f:
            json.dump({"date": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%d %H:%M UTC"), "commit": commit, "seed": a.seed,
                "per_class": a.per_class, "cases": len(cases), "rows": rows}, f, indent=1,
                sort_keys=True)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
