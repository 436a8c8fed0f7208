#!/usr/bin/env bash
# compare_libs.sh OLD NEW [ROUNDS] [CASES]: is revision NEW's order-0 hot
# path faster or slower than OLD's? Builds both revisions' Release
# libpmm.so under build/compare/, then times them in turns in one process
# (scripts/compare_libs.c: the order-0 alloc+free pair and `bench peers`'
# random, CASES of pair,random, default both; ROUNDS default 201), so that
# this VM's drift from minute to minute falls on both alike, which two
# binaries run one after the other (compare_builds.sh) do not see past for
# changes of a few per cent. Prints, per case, each library's median of
# the rounds' own ratios to OLD. Both revisions must have the same
# include/pmm.h: the harness is compiled against it. Pin it with
# `taskset -c N` (one CPU for all rounds).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD NEW [ROUNDS] [CASES]" >&2; exit 2; }
cd "$(git rev-parse --show-toplevel)"
old=$(git rev-parse --short "$1")
new=$(git rev-parse --short "$2")
rounds=${3:-201}
cases=${4:-pair,random}
out=build/compare
mkdir -p "$out"
if ! git diff --quiet "$old" "$new" -- include/; then
	echo "$0: include/ differs between $old and $new: the harness needs one pmm.h" >&2
	exit 2
fi

build() {
	local rev=$1 dir

	[ -f "$out/libpmm-$rev.so" ] && return
	dir=$(scripts/build_rev.sh "$rev" pmm_shared)
	cp -L "$dir/libpmm.so" "$out/libpmm-$rev.so"
}

build "$old"
build "$new"
# The harness against the revisions' pmm.h (the same in both, checked above).
inc=$(mktemp -d)
trap 'rm -rf "$inc"' EXIT
git archive "$new" include | tar -x -C "$inc"
cc -O2 -Wall -Wextra -I "$inc/include" -o "$out/compare_libs" scripts/compare_libs.c -ldl
"$out/compare_libs" --rounds "$rounds" --cases "$cases" "$out/libpmm-$old.so" "$out/libpmm-$new.so"
