#!/usr/bin/env bash
# compare_builds.sh OLD NEW [ROUNDS]: is revision NEW slower than OLD on the
# core paths? Builds both revisions' Release `pmm` under build/compare/, then
# runs `pmm bench fastpath` and `pmm bench contig --no-sweep --no-models`
# with the two binaries alternating, ROUNDS times (default 7), so that this
# VM's drift from minute to minute falls on both alike. Prints each figure's
# median over the rounds per binary and the median over rounds of NEW / OLD
# within the round; every run's JSON line is kept in build/compare/runs.jsonl.
# The benchmarks pin themselves to the lowest CPU they may use (older
# revisions pinned to whichever CPU they started on): run the script under
# `taskset -c N` to put both on one CPU whatever their age.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD NEW [ROUNDS]" >&2; exit 2; }
cd "$(git rev-parse --show-toplevel)"
old=$(git rev-parse --short "$1")
new=$(git rev-parse --short "$2")
rounds=${3:-7}
out=build/compare
mkdir -p "$out"

build() {
	local rev=$1 dir

	[ -x "$out/pmm-$rev" ] && return
	dir=$(scripts/build_rev.sh "$rev" pmm_cli)
	cp "$dir/pmm" "$out/pmm-$rev"
}

# field JSON KEY [CASE]: the number after "KEY": (inside CASE's object if given).
field() {
	local json=$1 key=$2 case=${3:-}
	[ -n "$case" ] && json=${json#*\"case\":\"$case\"} && json=${json%%\}*}
	grep -o "\"$key\":[-0-9.e+]*" <<<"$json" | head -1 | cut -d: -f2
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# num VALUE DIGITS: VALUE with DIGITS decimals, or NA when there is none.
num() { if [ -n "$1" ]; then printf "%.${2}f" "$1"; else printf NA; fi; }

build "$old"
build "$new"
: >"$out/runs.jsonl"
declare -A vals
figures="fastpath.pcp_hit fastpath.pcp_miss fastpath.buddy_only contig.per_page_ns contig.batched_ns contig.floor_ns contig.loop_batched_ns"
for ((r = 1; r <= rounds; r++)); do
	# Alternate which binary goes first, so neither always runs on a warmer machine.
	order="$old $new"
	((r % 2)) || order="$new $old"
	for rev in $order; do
		fp=$("$out/pmm-$rev" bench fastpath --json --quiet --reps 5)
		ct=$("$out/pmm-$rev" bench contig --json --quiet --no-sweep --no-models --iterations 50000)
		printf '{"rev":"%s","round":%d,"run":%s}\n{"rev":"%s","round":%d,"run":%s}\n' \
			"$rev" "$r" "$fp" "$rev" "$r" "$ct" >>"$out/runs.jsonl"
		# NA for a figure a run lacks, so that the rounds stay paired below.
		for c in pcp_hit pcp_miss buddy_only; do
			v=$(field "$fp" pair_ns "$c")
			vals[$rev.fastpath.$c]+="${v:-NA} "
		done
		for k in per_page_ns batched_ns floor_ns loop_batched_ns; do
			v=$(field "$ct" "$k")
			vals[$rev.contig.$k]+="${v:-NA} "
		done
	done
	echo "round $r/$rounds done" >&2
done

# new/old is the median over rounds of the round's own ratio: the two
# binaries of a round ran a minute apart at most, while the medians of the
# absolute figures can fall on different speeds of this VM.
printf '%-28s %14s %14s %9s\n' "median ns over $rounds rounds" "$old" "$new" "new/old"
for f in $figures; do
	a=$(tr ' ' '\n' <<<"${vals[$old.$f]}" | grep -v '^NA$' | grep . | median)
	b=$(tr ' ' '\n' <<<"${vals[$new.$f]}" | grep -v '^NA$' | grep . | median)
	q=$(paste <(tr ' ' '\n' <<<"${vals[$old.$f]}" | grep .) \
		  <(tr ' ' '\n' <<<"${vals[$new.$f]}" | grep .) |
	    awk '$1 != "NA" && $2 != "NA" && $1 > 0 { print $2 / $1 }' | median)
	printf '%-28s %14s %14s %9s\n' "$f" "$(num "$a" 1)" "$(num "$b" 1)" "$(num "$q" 3)"
done
