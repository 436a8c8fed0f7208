#!/usr/bin/env bash
# plot_teardown.sh PMM [OUTDIR [JSON]]: plot the mmu_gather teardown speedups.
# Reads the JSON of `pmm bench teardown --json` (runs it, a few minutes, when
# no JSON file is given, keeping it as OUTDIR/teardown.json) and draws the
# speedup of ranges and encoded over per_page against the folio order, exit
# and munmap side by side, into OUTDIR/teardown_speedup.png. OUTDIR is
# build/plot unless given (`make plot DOCS=1` gives docs).
set -euo pipefail
usage="usage: plot_teardown.sh PMM [OUTDIR [JSON]]"
pmm=${1:?$usage}
out=${2:-build/plot}
json=${3:-}
command -v gnuplot >/dev/null || { echo "plot_teardown: needs gnuplot: apt-get install -y gnuplot-nox" >&2; exit 1; }
command -v python3 >/dev/null || { echo "plot_teardown: needs python3: apt-get install -y python3" >&2; exit 1; }
mkdir -p "$out"
if [ -z "$json" ]; then
	json="$out/teardown.json"
	"$pmm" bench teardown --json > "$json"
fi
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
# One row per order: order, then for exit and munmap, each mapcount model and
# each batched mode, its speedup over per_page ("?" where not measured); the
# configuration (for the title) on stdout.
config=$(python3 - "$json" "$dat" <<'PY'
import json
import sys

with open(sys.argv[1]) as f:
    d = json.load(f)
if d.get("bench") != "teardown" or not d.get("results"):
    sys.exit("plot_teardown: %s has no teardown results" % sys.argv[1])
speed = {}
for r in d["results"]:
    speed[(r["order"], r["case"], r["mapcount"], r["mode"])] = r["speedup"]
cols = [(c, m, g) for c in ("exit", "munmap") for m in ("page", "folio")
        for g in ("ranges", "encoded")]
with open(sys.argv[2], "w") as f:
    for k in sorted({r["order"] for r in d["results"]}):
        vals = [speed.get((k, c, m, g)) for c, m, g in cols]
        print(k, " ".join("?" if v is None else "%.4g" % v for v in vals), file=f)
print("%s memmap, %s backing, %d MiB per sample, median of %d" %
      (d["memmap"], d["backing"], d["size_bytes"] >> 20, d["samples"]))
PY
)
gnuplot <<GP
set terminal pngcairo size 1100,520 font ",11"
set output "$out/teardown_speedup.png"
set datafile missing "?"
set multiplot layout 1,2 title "mmu_gather teardown, speedup over per-page ($config)" noenhanced
set xlabel "folio order (2^k pages per folio)"
set ylabel "speedup: per-page ns / mode ns"
set xrange [-0.5:9.5]
set xtics 1
set yrange [0:*]
set grid ytics
set key bottom right
set style data linespoints
# The issue's goals for exit and munmap: >= 0.98x at order 0, 1.8x at 4, 3x at 9.
\$goals << EOD
0 0.98
4 1.8
9 3.0
EOD
do for [c = 0:1] {
	set title (c == 0 ? "exit (pmm_mm_destroy)" : "munmap of the whole range") noenhanced
	b = 2 + 4 * c
	plot "$dat" using 1:b title "ranges, page mapcount" lw 2 pt 7 lc rgb "#1f77b4", \\
	     "$dat" using 1:(column(b + 1)) title "encoded, page mapcount" lw 2 pt 5 lc rgb "#d62728", \\
	     "$dat" using 1:(column(b + 2)) title "ranges, folio mapcount" lw 2 pt 6 dt 2 lc rgb "#1f77b4", \\
	     "$dat" using 1:(column(b + 3)) title "encoded, folio mapcount" lw 2 pt 4 dt 2 lc rgb "#d62728", \\
	     1 title "per page" lc rgb "gray40" dt 2 lw 1.5 with lines, \\
	     \$goals using 1:2 title "goal" with points pt 2 ps 2 lw 2 lc rgb "gray40"
}
unset multiplot
GP
echo "plot_teardown: wrote $out/teardown_speedup.png"
