#!/usr/bin/env python3
"""bench/files/bench_files.py — archive throughput and peak memory of the file
layer, next to a reference pipeline in the same run (docs/BENCH.md, "Files").

usage: bench_files.py [--build DIR] [--mb N] [--docs N] [--out DIR]

Generates (once, into --out, default bench/out/files) a zip of N text
documents holding MB MiB of Chinese and English office prose, a few with
markings, and measures, one thread each, best of three:
  cordon   `cordon scan --format json --threads 1` on the zip (the worker
           unpacks every member and streams it back; the caller's process
           runs the text guard on each)
  ref      `unzip -p ZIP | rg -c -F -f TERMS` (unpack + literal search, no
           normalisation, no detectors, no policy)
and prints MB/s of uncompressed text for both, their ratio, and the peak RSS
of `cordon scan` (caller and worker) with /usr/bin/time-like accounting
(RUSAGE_CHILDREN). Also the same numbers for the zip of one 1 GiB-of-zeros
member (a bomb: time and memory to refuse it).
"""
import argparse
import io
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

ZH = ("关于召开年度工作会议的通知 各单位要认真做好准备工作 会议纪要 请于明日上午九时参加 "
      "项目进展顺利 预算审批 人员安排 办公室 后勤保障 信息化建设 ").split()
EN = ("meeting agenda budget review project schedule office staff report "
      "quarterly planning the of and to in for with on").split()
MARKS = ["机密★1年", "秘密★6个月", "内部资料 注意保存"]
TERMS = ["机密", "秘密", "绝密", "内部", "TOP SECRET", "CONFIDENTIAL"]


def gen(out, mb, docs, seed=1):
    zpath = os.path.join(out, "docs-%dm-%d.zip" % (mb, docs))
    if os.path.exists(zpath):
        return zpath
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(seed)
    per = (mb << 20) // docs
    with zipfile.ZipFile(zpath + ".tmp", "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(docs):
            parts, n = [], 0
            while n < per:
                words = ZH if rnd.random() < 0.6 else EN
                line = " ".join(rnd.choice(words) for _ in range(12)) + "\n"
                parts.append(line)
                n += len(line.encode())
            if i % 50 == 0:
                parts.insert(len(parts) // 2, rnd.choice(MARKS) + "\n")
            z.writestr("dept%02d/doc%05d.txt" % (i % 20, i), "".join(parts))
    os.rename(zpath + ".tmp", zpath)
    return zpath


def bomb(out):
    p = os.path.join(out, "bomb-1g.zip")
    if os.path.exists(p):
        return p
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("zeros.bin", "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(1024):
                f.write(block)
    return p


def timed(cmd, shell=False):
    """Best of three: (wall seconds, peak RSS KiB of the children of a fresh
    interpreter, exit status, CPU seconds of those children). CPU time is the
    figure to compare on a shared machine; wall time moves with the load."""
    best = None
    for _ in range(3):
        code = ("import resource,subprocess,sys,time;t=time.time();"
                "p=subprocess.run(sys.argv[2] if sys.argv[1]=='1' else sys.argv[2:],"
                "shell=sys.argv[1]=='1',stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
                "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
                "print(time.time()-t,u.ru_maxrss,p.returncode,u.ru_utime+u.ru_stime)")
        args = [sys.executable, "-c", code, "1" if shell else "0"]
        args += [cmd] if shell else cmd
        r = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
        t, kib, rc, cpu = float(r[0]), int(r[1]), int(r[2]), float(r[3])
        if best is None or cpu < best[3]:
            best = (t, kib, rc, cpu)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BUILD", os.path.join(ROOT, "build-release")))
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "files"))
    a = ap.parse_args()
    cordon = os.path.join(a.build, "src", "tool", "cordon")
    if not os.access(cordon, os.X_OK):
        sys.exit("bench_files: no %s (build first, or --build DIR)" % cordon)
    for tool in ("unzip", "rg"):
        if not shutil.which(tool):
            sys.exit("bench_files: %s not found (the reference pipeline needs it)" % tool)
    z = gen(a.out, a.mb, a.docs)
    cache = os.path.join(a.out, "cache")
    os.makedirs(cache, exist_ok=True)
    terms = os.path.join(a.out, "terms.txt")
    with open(terms, "w") as f:
        f.write("\n".join(TERMS) + "\n")
    with zipfile.ZipFile(z) as zz:
        raw = sum(i.file_size for i in zz.infolist())
    scan = [cordon, "scan", "--format", "json", "--no-progress", "--threads", "1",
            "--cache-dir", cache]
    subprocess.run(scan + [z], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm
    t_c, kib_c, rc_c, cpu_c = timed(scan + [z])
    t_r, kib_r, _, cpu_r = timed("unzip -p '%s' | rg -c -F -f '%s'" % (z, terms), shell=True)
    print("archive: %d docs, %.1f MB unpacked, %.1f MB zip" %
          (a.docs, raw / 1e6, os.path.getsize(z) / 1e6))
    print("  %-24s %8s %8s %8s %10s" % ("", "MB/s", "wall s", "CPU s", "peak RSS"))
    print("  %-24s %8.1f %8.2f %8.2f %6.1f MiB  exit %d" %
          ("cordon scan (1 thread)", raw / t_c / 1e6, t_c, cpu_c, kib_c / 1024, rc_c))
    print("  %-24s %8.1f %8.2f %8.2f %6.1f MiB" %
          ("unzip -p | rg -F -f", raw / t_r / 1e6, t_r, cpu_r, kib_r / 1024))
    print("  ratio cordon/reference: %.2f by wall time, %.2f by CPU time" %
          (t_r / t_c, cpu_r / cpu_c))
    b = bomb(a.out)
    t_b, kib_b, rc_b, _ = timed(scan + [b])
    t_u, kib_u, _, _ = timed("unzip -p '%s' | rg -c -F -f '%s'" % (b, terms), shell=True)
    print("bomb: 1 GiB of zeros in %.1f MB" % (os.path.getsize(b) / 1e6))
    print("  cordon scan refuses it in %.2f s, peak RSS %.1f MiB, exit %d" %
          (t_b, kib_b / 1024, rc_b))
    print("  unzip -p | rg reads it all in %.2f s" % t_u)


if __name__ == "__main__":
    main()
