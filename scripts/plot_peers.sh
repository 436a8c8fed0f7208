#!/usr/bin/env bash
# plot_peers.sh PMM [OUTDIR [JSON]]: bar chart of pmm against each malloc.
# Reads the JSON of `pmm bench peers --json` (runs it, about a minute with
# the peers installed, when no JSON file is given, keeping it as
# OUTDIR/peers.json) and draws, per row (order, case), each allocator's
# median ns per op on a log scale, into OUTDIR/peers.png. OUTDIR is
# build/plot unless given (`make plot DOCS=1` gives docs).
set -euo pipefail
usage="usage: plot_peers.sh PMM [OUTDIR [JSON]]"
pmm=${1:?$usage}
out=${2:-build/plot}
json=${3:-}
command -v gnuplot >/dev/null || { echo "plot_peers: needs gnuplot: apt-get install -y gnuplot-nox" >&2; exit 1; }
command -v python3 >/dev/null || { echo "plot_peers: needs python3: apt-get install -y python3" >&2; exit 1; }
mkdir -p "$out"
if [ -z "$json" ]; then
	json="$out/peers.json"
	"$pmm" bench peers --json > "$json"
fi
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
# One line per row: "order case", then each allocator's ns ("?" if not run);
# the allocators (a gnuplot word list) on stdout.
allocs=$(python3 - "$json" "$dat" <<'PY'
import json
import sys

with open(sys.argv[1]) as f:
    d = json.load(f)
if d.get("bench") != "peers" or not d.get("results"):
    sys.exit("plot_peers: %s has no peers results" % sys.argv[1])
names = []
for r in d["results"]:
    if r["alloc"] not in names:
        names.append(r["alloc"])
ns = {(r["alloc"], r["order"], r["case"]): r["ns"] for r in d["results"]}
with open(sys.argv[2], "w") as f:
    for row in d["rows"]:
        k, c = row["order"], row["case"]
        vals = [ns.get((a, k, c)) for a in names]
        print('"%s %s"' % ("4K" if k == 0 else "2M", c),
              " ".join("?" if v is None else "%.4g" % v for v in vals), file=f)
print(" ".join(names))
PY
)
n=$(wc -w <<<"$allocs")
gnuplot <<GP
set terminal pngcairo size 1200,520 font ",11"
set output "$out/peers.png"
set datafile missing "?"
set title "pmm bench peers: ns per operation, median over rounds (lower is better; log scale)" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set ylabel "ns per op"
set grid ytics
set key top left noenhanced
set xtics noenhanced
names = "$allocs"
colors = "#d62728 #ff9896 #7f7f7f #1f77b4 #2ca02c #9467bd #8c564b"
plot for [i = 1:$n] "$dat" using (column(i + 1)):xtic(1) title word(names, i) lc rgb word(colors, i)
GP
echo "plot_peers: wrote $out/peers.png"
