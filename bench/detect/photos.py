#!/usr/bin/python3
"""bench/detect/photos.py — marked pages as a phone photographs them: does
the guard still find the marking? (docs/BENCH.md, "Detection: photographed
pages").

usage: photos.py [--cordon PATH] [--seed N] [--per-class N] [--last FILE]
                 [--no-save] [--keep DIR]

Renders official documents (红头文件) with tests/file/image/gen_images.py —
the page layout the file tests use, Pillow and the WenQuanYi font, nothing
else — each with one of five markings in the marking position (机密★1年,
秘密★5年, 绝密★10年, a bare 机密 and a bare 秘密, both beside the 份号),
and makes a photo of each, seeded:

  phone   rotated 1–4° either way, focus blur (Gaussian 0.8–1.4 px),
          sensor noise (σ 6–12), uneven light (darker by 20–45 towards a
          random corner), JPEG quality 60
  harder  rotated 3–6°, blur 1.3–1.8 px, noise σ 10–16, light 40–60,
          JPEG quality 60

A page is caught when `cordon scan --format json` holds or blocks it
(verdict confirm or block) with a `marking.classified` finding. Traps:
red-headed notices with no marking and no 份号 (an urgency word or none),
photographed the same way; a trap is a false positive when it is held or
blocked (the default policy warns on a red header alone).

Prints, per class (condition × marking), the pages, those caught and the
recall next to the previous run's (--last, default
bench/detect/last_photos.json), then the target: recall ≥ 95% on phone-like
photos and no trap held. Exit 0 when it ran, 1 when it could not.
"""
import argparse
import datetime
import io
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "file", "image"))
import gen_images  # noqa: E402
from PIL import Image, ImageChops, ImageFilter  # noqa: E402  (gen_images needs it too)

RANK = {"allow": 0, "warn": 1, "mask": 2, "confirm": 3, "block": 4}
TARGET = 0.95
LEVELS = {"l1_jimi_star": "机密★1年", "l2_mimi_star": "秘密★5年", "l3_juemi_star": "绝密★10年",
          "l4_bare_jimi": "机密", "l5_bare_mimi": "秘密"}
CONDITIONS = {
    "phone": dict(angle=(1.0, 4.0), blur=(0.8, 1.4), noise=(6, 12), light=(20, 45)),
    "harder": dict(angle=(3.0, 6.0), blur=(1.3, 1.8), noise=(10, 16), light=(40, 60)),
}


def photo(img, rnd, cond):
    """The page as a phone takes it, under the ranges of `cond`."""
    c = CONDITIONS[cond]
    angle = rnd.uniform(*c["angle"]) * rnd.choice((-1, 1))
    p = img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(235, 232, 225))
    p = p.filter(ImageFilter.GaussianBlur(rnd.uniform(*c["blur"])))
    w, h = p.size
    # sensor noise: a Gaussian field around mid-grey, added to every channel
    noise = Image.effect_noise((w, h), rnd.uniform(*c["noise"])).convert("RGB")
    p = ImageChops.add(p, noise, scale=1.0, offset=-128)
    # uneven light: a ramp from nothing to `light`, towards a random corner
    down = Image.linear_gradient("L")  # 0 at the top, 255 at the bottom
    ramp = ImageChops.add(down.resize((w, h)), down.transpose(Image.ROTATE_90).resize((w, h)),
                          scale=2.0)  # (top-to-bottom + one side) / 2: a corner is darkest
    if rnd.random() < 0.5:
        ramp = ramp.transpose(Image.FLIP_LEFT_RIGHT)
    if rnd.random() < 0.5:
        ramp = ramp.transpose(Image.FLIP_TOP_BOTTOM)
    ramp = ramp.point(lambda v, k=rnd.uniform(*c["light"]): int(v * k / 255))
    p = ImageChops.subtract(p, Image.merge("RGB", (ramp, ramp, ramp)))
    out = io.BytesIO()
    p.save(out, "JPEG", quality=60)
    return out.getvalue()


def cases(seed, per):
    rnd = random.Random(seed)
    out = []
    for cond in CONDITIONS:
        for cls, level in LEVELS.items():
            for i in range(per):
                img = gen_images.official_page(marked=True, urgency=rnd.random() < 0.5, level=level)
                out.append({"id": f"{cond}-{cls}-{i}", "cond": cond, "cls": cls, "positive": True,
                            "jpeg": photo(img, rnd, cond)})
        for i in range(per):
            img = gen_images.official_page(marked=False, copy_no=False, urgency=rnd.random() < 0.5)
            out.append({"id": f"{cond}-trap_red_header-{i}", "cond": cond, "cls": "trap_red_header",
                        "positive": False, "jpeg": photo(img, rnd, cond)})
    return out


def held(res):
    return RANK.get(res.get("verdict"), 0) >= RANK["confirm"]


def caught(res):
    return held(res) and any(f["rule"] == "marking.classified" for f in res.get("findings", []))


def pct(x):
    return "   -  " if x is None else f"{100 * x:5.1f}%"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cordon", default=os.path.join(ROOT, "build", "src", "tool", "cordon"))
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--per-class", type=int, default=4)
    ap.add_argument("--last", default=os.path.join(HERE, "last_photos.json"))
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--keep", default=None, help="write the photos here and keep them")
    a = ap.parse_args()
    if not os.access(a.cordon, os.X_OK):
        print(f"photos.py: no cordon at {a.cordon}", file=sys.stderr)
        return 1
    work = a.keep or tempfile.mkdtemp(prefix="cordon-photos-")
    os.makedirs(work, exist_ok=True)
    cs = cases(a.seed, a.per_class)
    for c in cs:
        with open(os.path.join(work, c["id"] + ".jpg"), "wb") as f:
            f.write(c["jpeg"])
    cache = tempfile.mkdtemp(prefix="cordon-photos-cache-")
    t0 = datetime.datetime.now()
    p = subprocess.run([a.cordon, "scan", "--format", "json", "--no-progress", "--cache-dir", cache,
                        work], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        print(f"photos.py: cordon scan exit {p.returncode}: {p.stderr[-500:]}", file=sys.stderr)
        return 1
    secs = (datetime.datetime.now() - t0).total_seconds()
    results = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        results[os.path.basename(r["path"])[:-4]] = r
    rows = {}
    misses = []
    for c in cs:
        r = results[c["id"]]
        for key in (f"{c['cond']}/{c['cls']}", f"{c['cond']}/all" if c["positive"] else None):
            if not key:
                continue
            t = rows.setdefault(key, {"n": 0, "hit": 0, "positive": c["positive"]})
            t["n"] += 1
            t["hit"] += caught(r) if c["positive"] else held(r)
        if c["positive"] and not caught(r):
            misses.append((c["id"], r.get("verdict"),
                           sorted({f["rule"] for f in r.get("findings", [])})))
    last = {}
    if os.path.exists(a.last):
        with open(a.last) as f:
            last = json.load(f).get("rows", {})
    print(f"{'class':<28} {'pages':>5} {'caught':>6} {'recall':>7} {'last':>7} {'diff':>7}"
          f"    (traps: held = false positives)")
    for key in sorted(rows):
        t = rows[key]
        rec = t["hit"] / t["n"] if t["n"] else None
        prev = last.get(key, {})
        prev_r = prev["hit"] / prev["n"] if prev.get("n") else None
        diff = "" if rec is None or prev_r is None else f"{100 * (rec - prev_r):+6.1f}"
        if t["positive"]:
            print(f"{key:<28} {t['n']:>5} {t['hit']:>6} {pct(rec):>7} {pct(prev_r):>7} {diff:>7}")
        else:
            print(f"{key:<28} {t['n']:>5} {'held ' + str(t['hit']):>6} {'':>7} "
                  f"{'held ' + str(prev.get('hit')) if prev else '-':>7}")
    for cid, verdict, rules in misses:
        print(f"  missed {cid}: {verdict} {' '.join(rules)}")
    phone = rows.get("phone/all", {"n": 0, "hit": 0})
    r_phone = phone["hit"] / phone["n"] if phone["n"] else 0.0
    fp = sum(t["hit"] for t in rows.values() if not t["positive"])
    print(f"target: recall on phone-like photos {pct(r_phone)} (>= {100 * TARGET:.0f}%): "
          f"{'met' if r_phone >= TARGET else 'MISSED'}; traps held: {fp} "
          f"({'met' if fp == 0 else 'MISSED'}); {len(cs)} photos scanned in {secs:.0f} s")
    if not a.no_save:
        with open(a.last, "w") as f:
            json.dump({"date": datetime.date.today().isoformat(), "seed": a.seed,
                       "per_class": a.per_class, "rows": rows}, f, indent=1, sort_keys=True)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
