#!/usr/bin/env python3
"""bench/watermark/run.py — what the per-viewer watermark costs the server,
next to a plain decode + encode of the same picture in the same run
(docs/BENCH.md, "Watermark").

usage: run.py [--build DIR] [--runs N] [--out DIR]

For a preview (1,024 x 768: what each viewer's first look at a picture in a
chat costs) and a 12-megapixel photo (4,000 x 3,000: the original opened in
the viewer), both photo-like JPEGs made here with Pillow, it prints p50 and
p90 over N runs (alternating) of:
  embed     `bench_wmark`: wm_embed for one viewer (decode, mask, keyed
            pattern, JPEG quality 92), in process
  worker    the same mark as the server makes it: in the sandboxed
            extraction worker (guard_file_watermark_embed), process start
            and hand-over included
  lept      the same process: Leptonica decode + JPEG quality 92 encode, no
            mark (the libraries the mark runs on)
  pillow    the reference tool: Pillow (libjpeg-turbo) open + decode + save
            as JPEG quality 92, timed inside Python (no interpreter start)
and the ratios worker/pillow, embed/lept and worker/embed (what the
sandbox adds). Nothing is asserted: timings on
a shared machine vary; read several runs.
"""
import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import time

from PIL import Image, ImageChops, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def photo(w, h, seed=7):
    """A sky gradient, soft shapes and grain: the kind of picture the mark
    is tuned for (tests/watermark/test_watermark.py), made at C speed."""
    random.seed(seed)
    g = Image.linear_gradient("L").resize((w, h))
    img = Image.merge("RGB", [g.point(lambda v: 90 + v * 80 // 255),
                              g.point(lambda v: 140 + v * 60 // 255),
                              g.point(lambda v: 220 - v * 40 // 255)])
    d = ImageDraw.Draw(img)
    for _ in range(25):
        x, y, r = random.randrange(w), random.randrange(h // 3, h), random.randrange(w // 40, w // 5)
        d.ellipse((x - r, y - r // 2, x + r, y + r // 2),
                  fill=(random.randrange(30, 200), random.randrange(60, 200), random.randrange(20, 150)))
    img = img.filter(ImageFilter.GaussianBlur(3))
    n = Image.effect_noise((w, h), 6)
    return ImageChops.add(img, Image.merge("RGB", [n, n, n]), 1, -128)


def quantiles(v):
    v = sorted(v)
    return v[(len(v) - 1) // 2], v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]


def pillow(path, runs):
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        im = Image.open(path)
        im.load()
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=92)
        ms.append((time.perf_counter() - t0) * 1000)
    return quantiles(ms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BUILD", os.path.join(ROOT, "build")))
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "out", "watermark"))
    a = ap.parse_args()
    exe = os.path.join(a.build, "bench", "bench_wmark")
    if not os.access(exe, os.X_OK):
        sys.exit(f"run.py: {exe} not found (ninja -C {a.build})")
    os.makedirs(a.out, exist_ok=True)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"watermark bench: {a.runs} runs each, load average {load:.1f}")
    print(f"{'picture':<22}{'embed p50/p90 ms':>20}{'worker p50/p90':>16}{'lept p50/p90':>14}"
          f"{'pillow p50/p90':>16}{'worker/pillow':>15}{'embed/lept':>12}{'worker/embed':>14}"
          f"{'peak MB':>9}")
    for name, (w, h) in [("preview 1024x768", (1024, 768)), ("photo 4000x3000", (4000, 3000))]:
        path = os.path.join(a.out, f"{w}x{h}.jpg")
        if not os.path.exists(path):
            photo(w, h).save(path, "JPEG", quality=90)
        p = subprocess.run([exe, path, str(a.runs)], capture_output=True, text=True)
        if p.returncode:
            sys.exit(f"run.py: bench_wmark failed: {p.stderr}")
        r = {l.split()[0]: [float(x) for x in l.split()[1:]] for l in p.stdout.splitlines()}
        e, wk, l = r["embed"], r["worker"], r["reencode"]
        pl = pillow(path, a.runs)
        print(f"{name:<22}{e[0]:>10.0f} /{e[1]:>7.0f}{wk[0]:>9.0f} /{wk[1]:>5.0f}"
              f"{l[0]:>7.0f} /{l[1]:>5.0f}{pl[0]:>9.0f} /{pl[1]:>5.0f}"
              f"{wk[0] / pl[0]:>14.1f}x{e[0] / l[0]:>11.1f}x{wk[0] / e[0]:>13.2f}x"
              f"{r['peak_rss_kb'][0] / 1024:>9.0f}")


if __name__ == "__main__":
    main()
