#!/usr/bin/env bash
# build_rev.sh REV TARGET: revision REV's Release build of TARGET under
# build/compare/src-REV (the tree extracted with git archive once, then
# built incrementally), printing its build directory. What
# compare_builds.sh and compare_libs.sh build their revisions with.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 REV TARGET" >&2; exit 2; }
cd "$(git rev-parse --show-toplevel)"
rev=$(git rev-parse --short "$1")
dir=build/compare/src-$rev
if [ ! -f "$dir/.extracted" ]; then
	rm -rf "$dir"
	mkdir -p "$dir"
	git archive "$rev" | tar -x -C "$dir"
	touch "$dir/.extracted"
fi
[ -f "$dir/build/CMakeCache.txt" ] ||
	cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DPMM_TESTS=OFF >/dev/null
cmake --build "$dir/build" -j "$(nproc)" --target "$2" >/dev/null
echo "$dir/build"
