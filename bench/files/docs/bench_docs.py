#!/usr/bin/env python3
"""Document throughput: `cordon scan` on docx/pdf mixes, next to a reference
pipeline measured in the same run (pdftotext + ripgrep for PDFs; unzip +
ripgrep for docx), printed as a ratio. Also peak memory (largest RSS of any
child process: cordon, its extraction workers, or the reference tools).

usage: bench_docs.py CORDON [--n N] [--pages P] [--threads T]

Fixtures are generated (tests/file/docs/fixtures.py builders, scaled up):
N docx of ~P pages of Chinese work text each, with markings and numbers
planted, and N text PDFs of P pages rendered with cairo and WenQuanYi Zen Hei.
Needs /usr/bin/python3 with python3-cairo, pdftotext (poppler-utils), rg.
Times are best of 3. Exit 0 when everything ran.
"""

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "file", "docs"))
import fixtures as F  # noqa: E402

WORDS = ("项目 进展 会议 纪要 预算 审批 通知 单位 部门 负责人 安排 工作 计划 落实 情况 "
         "汇报 材料 文件 要求 时间 地点 人员 名单 检查 整改 方案 目标 任务 推进 完成").split()
PLANTS = [F.MARK, "联系电话 " + F.PHONE, "身份证号 " + F.ID, "秘密★5年"]


def paragraph(rng):
    s = "".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))) + "。"
    if rng.random() < 0.05:
        s = rng.choice(PLANTS) + " " + s
    return s


def make_docx(rng, pages):
    body = "".join(F._wp(paragraph(rng)) for _ in range(pages * 12))
    return F.docx(body, custom=[("密级", "内部")])


def make_pdf(rng, pages):
    import cairo
    import io
    buf = io.BytesIO()
    s = cairo.PDFSurface(buf, 595, 842)
    cr = cairo.Context(s)
    cr.select_font_face(F.FONT)
    cr.set_font_size(11)
    for _ in range(pages):
        for n in range(40):
            cr.move_to(50, 60 + 18 * n)
            cr.show_text(paragraph(rng)[:38])
        cr.show_page()
    s.finish()
    return buf.getvalue()


def run_children(cmds):
    """Runs the commands one after another; returns wall seconds."""
    t0 = time.monotonic()
    for c in cmds:
        subprocess.run(c, shell=isinstance(c, str), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    return time.monotonic() - t0


def best(f, reps=3):
    return min(f() for _ in range(reps))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cordon")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--pages", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"docx": [], "pdf": []}
        for k in ("docx", "pdf"):
            os.makedirs(os.path.join(tmp, k))
        for i in range(a.n):
            p = os.path.join(tmp, "docx", "d%04d.docx" % i)
            with open(p, "wb") as fh:
                fh.write(make_docx(rng, a.pages))
            sets["docx"].append(p)
            p = os.path.join(tmp, "pdf", "p%04d.pdf" % i)
            with open(p, "wb") as fh:
                fh.write(make_pdf(rng, a.pages))
            sets["pdf"].append(p)
        mb = {k: sum(os.path.getsize(p) for p in v) / 1e6 for k, v in sets.items()}
        pattern = "机密|秘密|1[3-9][0-9]{9}|[0-9]{17}[0-9X]"
        print("documents: %d docx (%.1f MB) + %d pdf (%.1f MB), %d pages each, %d thread(s)"
              % (a.n, mb["docx"], a.n, mb["pdf"], a.pages, a.threads))
        rows = []
        for kind in ("docx", "pdf", "mix"):
            files = sets["docx"] + sets["pdf"] if kind == "mix" else sets[kind]
            dirs = [os.path.join(tmp, "docx"), os.path.join(tmp, "pdf")] if kind == "mix" else \
                [os.path.join(tmp, kind)]
            cordon = [a.cordon, "scan", "--format", "json", "--no-progress", "-j",
                      str(a.threads)] + dirs
            t_c = best(lambda: run_children([cordon]))
            ref = []
            for p in files:
                if p.endswith(".pdf"):
                    ref.append("pdftotext -q '%s' - | rg -c -e '%s' >/dev/null" % (p, pattern))
                else:
                    ref.append("unzip -p '%s' 'word/*.xml' 'docProps/*.xml' | rg -c -e '%s' "
                               ">/dev/null" % (p, pattern))
            t_r = best(lambda: run_children(ref))
            rows.append((kind, len(files), t_c, t_r))
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        # peak of cordon alone: one more run, in a fresh child measured by /usr/bin/time
        out = subprocess.run(["/usr/bin/time", "-f", "%M", a.cordon, "scan", "--format", "json",
                              "--no-progress", "-j", str(a.threads), os.path.join(tmp, "pdf"),
                              os.path.join(tmp, "docx")], capture_output=True, text=True)
        cordon_kb = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "?"
        print("%-5s %6s %12s %12s %16s %8s" % ("set", "files", "cordon doc/s", "ref doc/s",
                                                 "ref = pdftotext|unzip + rg", "ratio"))
        for kind, n, tc, tr in rows:
            print("%-5s %6d %12.1f %12.1f %16s %8.2f" % (kind, n, n / tc, n / tr, "", tc / tr))
            print("SUMMARY\tdocs_%s_per_s\t%.1f\t%.1f\t%.2f\t-\t-" % (kind, n / tc, n / tr,
                                                                       tc / tr))
        print("peak RSS: cordon scan (parent) %s KiB; largest child process seen %.0f MiB "
              "(includes extraction workers and the reference tools)" % (cordon_kb, peak))
    return 0


if __name__ == "__main__":
    sys.exit(main())
