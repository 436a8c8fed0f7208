#!/usr/bin/env bash
# plot_contig.sh PMM [OUTDIR [JSON]]: plot free_contig_range speedup per order.
# Reads the JSON of `pmm bench contig --json` (runs it when no JSON file is
# given, keeping it as OUTDIR/contig.json) with python3's json module, writes
# OUTDIR/contig_speedup.png. OUTDIR is build/plot unless given (`make plot
# DOCS=1` gives docs).
set -euo pipefail
usage="usage: plot_contig.sh PMM [OUTDIR [JSON]]"
pmm=${1:?$usage}
out=${2:-build/plot}
json=${3:-}
command -v gnuplot >/dev/null || { echo "plot_contig: needs gnuplot: apt-get install -y gnuplot-nox" >&2; exit 1; }
command -v python3 >/dev/null || { echo "plot_contig: needs python3: apt-get install -y python3" >&2; exit 1; }
mkdir -p "$out"
if [ -z "$json" ]; then
	json="$out/contig.json"
	"$pmm" bench contig --json > "$json"
fi
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
# One row per element of "orders": order speedup batched_over_floor per_page_ns
# batched_ns floor_ns; the memmap model (for the title) on stdout.
memmap=$(python3 - "$json" "$dat" <<'PY'
import json
import sys

with open(sys.argv[1]) as f:
    d = json.load(f)
if d.get("bench") != "contig" or not d.get("orders"):
    sys.exit("plot_contig: %s has no \"orders\" array (run without --no-sweep)" % sys.argv[1])
cols = ("order", "speedup", "batched_over_floor", "per_page_ns", "batched_ns", "floor_ns")
with open(sys.argv[2], "w") as f:
    for r in d["orders"]:
        print(" ".join("?" if r.get(c) is None else str(r[c]) for c in cols), file=f)
print(d.get("memmap", "?"))
PY
)
gnuplot <<GP
set terminal pngcairo size 900,560 font ",11"
set output "$out/contig_speedup.png"
set datafile missing "?"
set title "free_contig_range, batched vs per-page, per order ($memmap memmap)" noenhanced
set xlabel "order k of the split block (2^k pages freed per call)"
set ylabel "speedup: per-page ns / batched ns"
set y2label "batched ns / floor ns (log scale)"
set xtics 1
set ytics nomirror
set y2tics
set logscale y2
set y2range [0.8:50]
set yrange [0:*]
set grid ytics
set key outside bottom center horizontal
set style data linespoints
plot "$dat" using 1:2 title "speedup" lw 2 pt 7, \\
     "$dat" using 1:3 axes x1y2 title "batched / floor" lw 2 pt 5 dt 2, \\
     1.25 axes x1y2 title "1.25x floor goal" lc rgb "gray40" dt 3 lw 2
GP
echo "plot_contig: wrote $out/contig_speedup.png"
