#!/usr/bin/env bash
# plot_contig.sh PMM OUTDIR [JSON]: plot free_contig_range speedup per order.
# Reads the one-line JSON of `pmm bench contig --json` (runs it when no
# JSON file is given), writes OUTDIR/contig_speedup.png and OUTDIR/contig.json.
set -euo pipefail
pmm=${1:?usage: plot_contig.sh PMM OUTDIR [JSON]}
out=${2:?usage: plot_contig.sh PMM OUTDIR [JSON]}
json=${3:-}
command -v gnuplot >/dev/null || { echo "plot_contig: needs gnuplot: apt-get install -y gnuplot-nox" >&2; exit 1; }
mkdir -p "$out"
if [ -z "$json" ]; then
	json="$out/contig.json"
	"$pmm" bench contig --json > "$json"
fi
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
# One row per element of "orders": order speedup batched_over_floor per_page_ns batched_ns
sed 's/.*"orders":\[//; s/\].*//; s/},{/}\n{/g' "$json" |
	sed -n 's/.*"order":\([0-9]*\).*"per_page_ns":\([0-9.e+-]*\).*"batched_ns":\([0-9.e+-]*\).*"floor_ns":\([0-9.e+-]*\).*"speedup":\([0-9.e+-]*\).*"batched_over_floor":\([0-9.e+-]*\).*/\1 \5 \6 \2 \3 \4/p' > "$dat"
[ -s "$dat" ] || { echo "plot_contig: no \"orders\" array in $json" >&2; exit 1; }
memmap=$(sed -n 's/.*"memmap":"\([a-z]*\)".*/\1/p' "$json" | head -n1)
gnuplot <<GP
set terminal pngcairo size 900,560 font ",11"
set output "$out/contig_speedup.png"
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
