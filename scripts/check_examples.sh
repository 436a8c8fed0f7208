#!/usr/bin/env bash
# check_examples.sh BUILD_DIR CC - examples/ as a user builds it: `cmake
# --install BUILD_DIR` into a temporary prefix, examples/ configured against
# it (find_package(pmm CONFIG), pmm::pmm) with -Wall -Wextra -Werror, and
# every example run to exit 0; then dma_pool and page_cache built once more
# with pkg-config against libpmm.so and run with LD_LIBRARY_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
cc=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
warnings="-Wall -Wextra -Werror"

# run NAME BINARY: one example must exit 0; its time goes to $times
times=()
run() {
	local start end status=0
	start=$(date +%s%N)
	"$2" >"$dir/$1.out" 2>"$dir/$1.err" || status=$?
	end=$(date +%s%N)
	if [ $status != 0 ]; then
		echo "check_examples: $1 exits $status:" >&2
		tail -n 20 "$dir/$1.out" "$dir/$1.err" >&2
		exit 1
	fi
	times+=("$1 $(((end - start) / 1000000)) ms")
}

cmake --install "$build" --prefix "$dir/prefix" >/dev/null
cmake -S examples -B "$dir/build" -DCMAKE_PREFIX_PATH="$dir/prefix" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_C_FLAGS="$warnings" >/dev/null
cmake --build "$dir/build" >/dev/null
for src in examples/*.c; do
	name=$(basename "$src" .c)
	[ -x "$dir/build/$name" ] || { echo "check_examples: examples/CMakeLists.txt does not build $name" >&2; exit 1; }
	run "$name" "$dir/build/$name"
done
grep -q '^{"pgalloc":' "$dir/page_cache.out" ||
	{ echo "check_examples: page_cache printed no JSON counters" >&2; exit 1; }

# pkg-config: -lpmm is libpmm.so
export PKG_CONFIG_PATH="$dir/prefix/lib/pkgconfig"
for name in dma_pool page_cache; do
	# shellcheck disable=SC2046,SC2086
	"$cc" $warnings -o "$dir/$name-shared" "examples/$name.c" $(pkg-config --cflags --libs pmm)
	readelf -d "$dir/$name-shared" | grep -q 'NEEDED.*libpmm.so.0' ||
		{ echo "check_examples: the pkg-config $name did not link libpmm.so.0" >&2; exit 1; }
	LD_LIBRARY_PATH="$dir/prefix/lib" run "$name-shared" "$dir/$name-shared"
done
printf -v summary '%s, ' "${times[@]}"
echo "check_examples: every example built (find_package; pkg-config, shared) and ran: ${summary%, }"
