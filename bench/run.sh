#!/usr/bin/env bash
# bench/run.sh — the text-guard benchmark, every figure next to its same-run
# reference (docs/BENCH.md).
#
# usage: bench/run.sh [--build DIR] [--mb N] [--seed N] [--out DIR] [--no-callgrind] [--no-1m]
#
# Builds nothing: it takes `cordon` and the bench_* programs from a
# release build directory (--build, else $BUILD, else ./build-release):
#     meson setup build-release -Dbuildtype=release && ninja -C build-release
# The corpus and lexicons are generated once into --out (default bench/out,
# gitignored) by bench/gen_corpus.py and reused while their parameters match.
#
# Exit status: 0 when everything ran, even if targets were missed (each
# target prints PASS or MISS); 1 when something could not run; 2 on usage.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD:-$root/build-release}
mb=200
seed=1
out=$here/out
callgrind=1
big=1
target_ratio=4 # cordon scan, 1 thread, vs rg -F on one thread
target_mbs=300 # the absolute aim that goes with it

usage() {
    sed -n '5p' "$0" | sed 's/^# //' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=${2:-}; shift ;;
    --mb) mb=${2:-}; shift ;;
    --out) out=${2:-}; shift ;;
    --seed) seed=${2:-}; shift ;;
    --no-callgrind) callgrind=0 ;;
    --no-1m) big=0 ;;
    -h | --help) usage ;;
    *) usage ;;
    esac
    shift
done
for n in "$mb" "$seed"; do
    case $n in *[!0-9]* | "") usage ;; esac
done
[ -n "$out" ] || usage
build=$(cd "$build" 2>/dev/null && pwd) || { echo "run.sh: no build directory $build" >&2; exit 1; }

failures=0
summary=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$summary" "$work"' EXIT

fail() {
    echo "run.sh: FAILED: $*" >&2
    failures=$((failures + 1))
}
# SUMMARY lines: measure, value, reference, ratio, target, result (TAB-separated).
row() {
    printf 'SUMMARY\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$summary"
}
# Runs a benchmark program, shows its report and keeps its SUMMARY lines.
report() {
    local f=$work/report
    "$@" >"$f"
    local rc=$?
    grep -v '^SUMMARY' "$f"
    grep '^SUMMARY' "$f" >>"$summary"
    return $rc
}

find_prog() { # name: prints the path of an executable under the build dir
    find "$build" -name "$1" -type f -perm -u+x 2>/dev/null | head -n 1
}
cordon=$build/src/tool/cordon
[ -x "$cordon" ] || cordon=$(find_prog cordon)
bench_check=$build/bench/bench_check
bench_lexicon=$build/bench/bench_lexicon
bench_hsraw=$build/bench/bench_hsraw
for p in "$bench_check" "$bench_lexicon" "$bench_hsraw"; do
    [ -x "$p" ] || { echo "run.sh: $p missing: build $build first (see docs/BENCH.md)" >&2; exit 1; }
done
command -v rg >/dev/null || { echo "run.sh: ripgrep (rg) is needed as the reference" >&2; exit 1; }

# ---- corpus -----------------------------------------------------------------

fresh() { # the generated set exists and has the parameters asked for
    python3 - "$out/corpus.json" "$mb" "$seed" "$here" <<'EOF' 2>/dev/null
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[4])
from gen_corpus import VERSION
m = json.load(open(sys.argv[1]))
sys.exit(0 if (m["mb"], m["seed"], m["version"]) == (int(sys.argv[2]), int(sys.argv[3]), VERSION) else 1)
EOF
}
if ! fresh; then
    echo "== generating corpus: $mb files of ~1 MiB, lexicons of 10k and 1M terms, into $out"
    rm -rf "$out/corpus"
    python3 "$here/gen_corpus.py" "$out" --mb "$mb" --seed "$seed" || { echo "run.sh: gen_corpus.py failed" >&2; exit 1; }
fi
corpus=$out/corpus
# Compiled rules are cached for this run only: the untimed warm-up scan
# compiles them, every timed run loads them (as a deployment would).
cache=$out/cache
rm -rf "$cache"
mkdir -p "$cache"
bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$out/corpus.json")
mbytes=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "== corpus: $corpus ($mbytes MB in $mb files), lexicon $out/lex10k.txt (10,000 terms)"
echo "== build: $build"

# The page cache cannot be dropped without root, so warm it instead: every
# timed run below then reads the corpus from memory, the same for both tools.
cat "$corpus"/* >/dev/null

# ---- scan throughput: cordon scan vs rg -F, one thread each -----------------------

# Runs a command 3 times; prints "WALL CPU" seconds of the run with the best
# wall time (CPU = user + sys, a hint when other work shares the machine).
best_of_3() {
    local best="" TIMEFORMAT='%R %U %S' rc w u s
    for _ in 1 2 3; do
        { time "$@" >/dev/null 2>"$work/stderr"; } 2>"$work/time"
        rc=$?
        # cordon and rg exit 1 when they found something: that is a run.
        if [ $rc -gt 1 ]; then
            echo "run.sh: '$*' exited $rc:" >&2
            head -n 5 "$work/stderr" >&2
            return 1
        fi
        read -r w u s <"$work/time"
        if [ -z "$best" ] || awk -v a="$w" -v b="${best% *}" 'BEGIN { exit !(a < b) }'; then
            best="$w $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')"
        fi
    done
    echo "$best"
}

echo
echo "== scan: $mbytes MB, one thread, best of 3 (after one untimed warm-up run)"
cordon_s="" rg_s=""
if [ -z "$cordon" ]; then
    fail "no cordon binary under $build"
else
    scan=("$cordon" scan --threads 1 --format json --no-progress --cache-dir "$cache"
          --lexicon "$out/lex10k.txt" "$corpus/")
    "${scan[@]}" >"$work/scan.json" 2>"$work/stderr"
    if [ $? -gt 1 ]; then
        fail "cordon scan: $(head -n 3 "$work/stderr")"
    else
        cordon_s=$(best_of_3 "${scan[@]}") || { fail "cordon scan"; cordon_s=""; }
    fi
fi
rg_cmd=(rg -F -f "$out/lex10k.rg" --count-matches -j1 "$corpus/")
rg_s=$(best_of_3 "${rg_cmd[@]}") || { fail "rg"; rg_s=""; }

mbs() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
line() { # label "WALL CPU"
    printf '  %-40s %7s s wall %8s MB/s   (%s s CPU, %s MB/s)\n' "$1" "${2% *}" "$(mbs "${2% *}")" \
        "${2#* }" "$(mbs "${2#* }")"
}
if [ -n "$rg_s" ]; then
    rg_mbs=$(mbs "${rg_s% *}")
    line "rg -F -f lex10k.rg --count-matches -j1" "$rg_s"
fi
if [ -n "$cordon_s" ]; then
    cordon_mbs=$(mbs "${cordon_s% *}")
    line "cordon scan --threads 1 --format json" "$cordon_s"
    if [ -n "$rg_s" ]; then
        ratio=$(awk -v a="$cordon_mbs" -v b="$rg_mbs" 'BEGIN { printf "%.2f", a / b }')
        verdict=$(awk -v r="$ratio" -v t="$target_ratio" 'BEGIN { print (r >= t) ? "PASS" : "MISS" }')
        echo "  ratio cordon/rg ${ratio}x (target >= ${target_ratio}x): $verdict"
        row "scan 1 thread MB/s" "$cordon_mbs" "rg $rg_mbs" "${ratio}x" ">= ${target_ratio}x rg" "$verdict"
    fi
    verdict=$(awk -v m="$cordon_mbs" -v t="$target_mbs" 'BEGIN { print (m >= t) ? "PASS" : "MISS" }')
    row "scan 1 thread MB/s (absolute)" "$cordon_mbs" "-" "-" ">= $target_mbs" "$verdict"
    if [ -n "$rg_s" ]; then
        # The same on CPU time: steadier when other work shares the machine.
        c_mbs=$(mbs "${cordon_s#* }") r_mbs=$(mbs "${rg_s#* }")
        ratio=$(awk -v a="$c_mbs" -v b="$r_mbs" 'BEGIN { printf "%.2f", a / b }')
        row "scan 1 thread MB/s of CPU time" "$c_mbs" "rg $r_mbs" "${ratio}x" "(info)" "-"
    fi
    # What the scan found, so a fast run that found nothing stands out.
    python3 - "$work/scan.json" <<'EOF' || true
import json, sys, collections
cats, n, items = collections.Counter(), 0, 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        o = json.loads(line)
    except ValueError:
        continue
    items += 1
    for f in o.get("findings", []):
        n += 1
        cats[f.get("category", "?")] += 1
print("  cordon found %d findings in %d items: %s" % (n, items, dict(cats)))
EOF
fi

# Where the scan's time goes: Hyperscan alone over the same bytes, with the
# lexicon as raw literals and with the guard's own compiled database.
db=$(find "$cache" -name "*.block.hsdb" | head -n 1)
echo
echo "== matcher floor (bench_hsraw): how fast the scan could be if the guard did nothing else"
report "$bench_hsraw" --lexicon "$out/lex10k.txt" ${db:+--db "$db"} "$corpus"/* || fail "bench_hsraw"
# The normaliser and the matcher alone are what any scan of this design must
# spend on every byte: their speed against rg's is the ratio's ceiling.
floor=$(awk -F'\t' '$2 == "normaliser + guard database MB/s" { v = $3 } END { print v }' "$summary")
if [ -n "$floor" ] && [ -n "$rg_mbs" ]; then
    ratio=$(awk -v a="$floor" -v b="$rg_mbs" 'BEGIN { printf "%.2f", a / b }')
    echo "  normaliser + matcher alone: ${ratio}x rg (the most a full scan could reach;" \
        "${target_ratio}x rg is $(awk -v b="$rg_mbs" -v t="$target_ratio" 'BEGIN { printf "%.0f", b * t }') MB/s)"
    row "ceiling: normaliser + matcher MB/s" "$floor" "rg $rg_mbs" "${ratio}x" "(info)" "-"
fi
# Reading every file and matching its original bytes, and nothing else, is
# the floor of any design (even one that normalised only around candidate
# hits): what is left of 4x rg's time per MB after it is the budget for
# normalising, evasion folds, detectors and output together.
read_mbs=$(awk -F'\t' '$2 == "read alone MB/s" { v = $3 } END { print v }' "$summary")
db_mbs=$(awk -F'\t' '$2 == "hs_scan guard database MB/s" { v = $3 } END { print v }' "$summary")
if [ -n "$read_mbs" ] && [ -n "$db_mbs" ] && [ -n "$rg_mbs" ]; then
    bare=$(awk -v r="$read_mbs" -v d="$db_mbs" 'BEGIN { printf "%.1f", 1 / (1 / r + 1 / d) }')
    ratio=$(awk -v a="$bare" -v b="$rg_mbs" 'BEGIN { printf "%.2f", a / b }')
    left=$(awk -v a="$bare" -v b="$rg_mbs" -v t="$target_ratio" \
        'BEGIN { printf "%.2f", 1000 / (b * t) - 1000 / a }')
    echo "  read + matcher over the original bytes: ${ratio}x rg; at ${target_ratio}x rg that leaves" \
        "${left} ms per MB for everything else (the normaliser alone takes" \
        "$(awk -F'\t' '$2 == "normaliser alone MB/s" { printf "%.2f", 1000 / $3 }' "$summary") ms)"
    row "floor: read + matcher MB/s" "$bare" "rg $rg_mbs" "${ratio}x" "(info)" "-"
fi

# ---- check: per-message latency ------------------------------------------------------

echo
echo "== check: guard_scan on ~200-byte messages (bench_check)"
report "$bench_check" --cache-dir "$cache" "$out/lex10k.txt" || fail "bench_check"

# ---- lexicon compile and load ---------------------------------------------------------

echo
echo "== lexicons: compile into an empty cache, then load from it (bench_lexicon)"
lexicons=("$out/lex10k.txt")
[ $big = 1 ] && lexicons+=("$out/lex1m.txt")
report "$bench_lexicon" "${lexicons[@]}" || fail "bench_lexicon"

# ---- instructions per message --------------------------------------------------------------

if [ $callgrind = 1 ]; then
    echo
    echo "== instructions per message (callgrind; repeatable where time is noisy)"
    if ! command -v valgrind >/dev/null; then
        fail "valgrind not installed (use --no-callgrind)"
    else
        ir() { # callgrind output file: total instructions collected
            awk '/^(summary|totals):/ { print $2; exit }' "$1"
        }
        # Steady state: 1,000 messages after a warm-up, collection toggled
        # around the loop only.
        n=1000
        valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$work/cg.check" \
            "$bench_check" --messages 2000 --instr $n --cache-dir "$cache" "$out/lex10k.txt" \
            >/dev/null 2>"$work/stderr"
        total=$(ir "$work/cg.check")
        if [ -n "$total" ] && [ "$total" -gt 0 ]; then
            per=$((total / n))
            echo "  guard_scan+result_free, steady state: $per instructions/message (mean of $n)"
            row "check: instructions/message" "$per" "-" "-" "-" "-"
        else
            fail "callgrind of bench_check: $(tail -n 3 "$work/stderr")"
        fi
        # One `cordon check` of one 200-byte message: guard_scan only (the
        # process start and ruleset load are excluded by --toggle-collect).
        if [ -n "$cordon" ]; then
            # 200 bytes: a mobile number, Chinese and English, like bench_check's.
            msg='@王芳 10:42 明天上午的培训改到视频会议室了。电话13912345678，请把会议纪要发我一下，谢谢！Please review the design doc before Friday, thanks a lot. 收到请回复。'
            printf '%s' "$msg" >"$work/msg.txt"
            valgrind --tool=callgrind --toggle-collect=guard_scan --callgrind-out-file="$work/cg.cordon" \
                "$cordon" check --cache-dir "$cache" --lexicon "$out/lex10k.txt" <"$work/msg.txt" \
                >/dev/null 2>"$work/stderr"
            total=$(ir "$work/cg.cordon")
            if [ -n "$total" ] && [ "$total" -gt 0 ]; then
                # The first scan of a process allocates Hyperscan scratch
                # once; shown apart, since a server pays it once per thread.
                scratch=$(callgrind_annotate --tree=calling --inclusive=yes "$work/cg.cordon" 2>/dev/null |
                    awk '/> +.*hs_alloc_scratch/ { gsub(",", "", $1); print $1; exit }')
                scratch=${scratch:-0}
                echo "  cordon check, one $(printf '%s' "$msg" | wc -c)-byte message: $total instructions in guard_scan," \
                    "of which $scratch in the one-time hs_alloc_scratch"
                row "cordon check: instructions, 1 message" "$((total - scratch))" "-" "-" "-" "-"
                row "cordon check: + one-time scratch" "$scratch" "-" "-" "-" "-"
            else
                fail "callgrind of cordon check: $(tail -n 3 "$work/stderr")"
            fi
        fi
    fi
fi

# ---- summary ------------------------------------------------------------------------------------

echo
echo "== summary ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
{
    printf 'measure\tvalue\treference\tratio\ttarget\tresult\n'
    cut -f2- "$summary"
} | column -t -s $'\t' | sed 's/^/  /'
if [ $failures -gt 0 ]; then
    echo "run.sh: $failures step(s) failed to run" >&2
    exit 1
fi
exit 0
