#!/usr/bin/env python3
"""OCR seconds per page image on one core: `cordon scan` next to the
`tesseract` CLI on the same image, in the same run.

usage: bench/files/ocr/run.py [--cordon PATH] [--runs N] [--out DIR]

Both are pinned to CPU 0 (taskset) with OMP_THREAD_LIMIT=1, Tesseract with
chi_sim+eng from Debian's tessdata. The pages are made by
tests/file/image/gen_images.py (the official-document render at 100 dpi and
its phone photo) plus the render scaled to 150 dpi. For each image:
best wall and CPU time (user + system, steadier on a shared machine) of N
runs (default 3), the ratios cordon / tesseract, and the
peak resident memory (GNU time's %M: for cordon, the largest of the parent
and its worker). cordon does more than the CLI — QR codes, the red
masthead, the header lines read again, and the text guard on all of it —
so the ratio is the price of that, not of a slower OCR. Needs python3-pil,
/usr/bin/time and taskset.
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "file", "image"))
import gen_images  # noqa: E402


def timed(cmd, env):
    """(wall seconds, CPU seconds, peak KiB) of one run."""
    p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "taskset", "-c", "0"] + cmd,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = p.stderr.decode().strip().splitlines()[-1].split()
    return float(last[0]), float(last[1]) + float(last[2]), int(last[3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cordon", default=os.path.join(ROOT, "build-release", "src", "tool", "cordon"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="cordon-ocr-bench-")
    os.makedirs(out, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "file", "image",
                                                 "gen_images.py"), out], check=True)
    # A larger page: the 100-dpi render scaled to 150 dpi (bicubic), for how
    # the time grows with the pixel count.
    big = gen_images.official_page().resize((1240, 1754), gen_images.Image.BICUBIC)
    big.save(os.path.join(out, "page_150dpi.png"))
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    pages = ["page_clean.png", "page_photo.jpg", "page_150dpi.png"]
    print(f"{'image':<16} {'cordon s':>9} {'tess. s':>8} {'ratio':>6} "
          f"{'cordon cpu':>11} {'tess. cpu':>10} {'ratio':>6} {'cordon MB':>10} {'tess. MB':>9}")
    for name in pages:
        path = os.path.join(out, name)
        c = [timed([a.cordon, "scan", "--no-progress", "--format", "json", path], env)
             for _ in range(a.runs)]
        t = [timed(["tesseract", path, "-", "-l", "chi_sim+eng"], env) for _ in range(a.runs)]
        cs, ts = min(x[0] for x in c), min(x[0] for x in t)
        cc, tc = min(x[1] for x in c), min(x[1] for x in t)
        cm, tm = max(x[2] for x in c) / 1024, max(x[2] for x in t) / 1024
        print(f"{name:<16} {cs:>9.2f} {ts:>8.2f} {cs / ts if ts else 0:>6.2f} "
              f"{cc:>11.2f} {tc:>10.2f} {cc / tc if tc else 0:>6.2f} {cm:>10.0f} {tm:>9.0f}")


if __name__ == "__main__":
    main()
