#!/usr/bin/env bash
# compare_builds.sh OLD NEW [ROUNDS]: is revision NEW slower than OLD on the
# core paths? Builds both revisions' Release `pmm` under build/compare/, then
# runs `pmm bench fastpath` and `pmm bench contig --no-sweep --no-models`
# with the two binaries alternating, ROUNDS times (default 7), so that this
# VM's drift from minute to minute falls on both alike. Prints each figure's
# median over the rounds per binary and NEW / OLD; every run's JSON line is
# kept in build/compare/runs.jsonl.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD NEW [ROUNDS]" >&2; exit 2; }
cd "$(git rev-parse --show-toplevel)"
old=$(git rev-parse --short "$1")
new=$(git rev-parse --short "$2")
rounds=${3:-7}
out=build/compare
mkdir -p "$out"

build() {
	local rev=$1 dir=$out/src-$1
	[ -x "$out/pmm-$rev" ] && return
	rm -rf "$dir"
	mkdir -p "$dir"
	git archive "$rev" | tar -x -C "$dir"
	cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DPMM_TESTS=OFF >/dev/null
	cmake --build "$dir/build" -j "$(nproc)" --target pmm_cli >/dev/null
	cp "$dir/build/pmm" "$out/pmm-$rev"
}

# field JSON KEY [CASE]: the number after "KEY": (inside CASE's object if given).
field() {
	local json=$1 key=$2 case=${3:-}
	[ -n "$case" ] && json=${json#*\"case\":\"$case\"} && json=${json%%\}*}
	grep -o "\"$key\":[-0-9.e+]*" <<<"$json" | head -1 | cut -d: -f2
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

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
		for c in pcp_hit pcp_miss buddy_only; do
			vals[$rev.fastpath.$c]+="$(field "$fp" pair_ns "$c") "
		done
		for k in per_page_ns batched_ns floor_ns loop_batched_ns; do
			vals[$rev.contig.$k]+="$(field "$ct" "$k") "
		done
	done
	echo "round $r/$rounds done" >&2
done

printf '%-28s %14s %14s %9s\n' "median ns over $rounds rounds" "$old" "$new" "new/old"
for f in $figures; do
	a=$(tr ' ' '\n' <<<"${vals[$old.$f]}" | grep . | median)
	b=$(tr ' ' '\n' <<<"${vals[$new.$f]}" | grep . | median)
	printf '%-28s %14.1f %14.1f %9.3f\n' "$f" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
done
