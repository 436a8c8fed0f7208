#!/usr/bin/env bash
# check_install.sh BUILD_DIR CC - pmm as a downstream project uses it:
# `cmake --install BUILD_DIR` into a temporary prefix, then three tiny
# consumers build against it and run: one with pkg-config, one with
# find_package(pmm CONFIG) (pmm::pmm and pmm::pmm_shared), and one that add_subdirectory()s the
# source tree with flags of its own, which pmm must leave alone.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=$1
cc=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cmake --install "$build" --prefix "$dir/prefix" >/dev/null
for f in include/pmm.h include/pmm_platform.h lib/libpmm.a lib/libpmm.so lib/pkgconfig/pmm.pc lib/cmake/pmm/pmmConfig.cmake; do
	[ -e "$dir/prefix/$f" ] || { echo "check_install: $f not installed" >&2; exit 1; }
done
soname=$(readelf -d "$dir/prefix/lib/libpmm.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libpmm.so.0 ] || { echo "check_install: soname '$soname', want libpmm.so.0" >&2; exit 1; }
scripts/check_symbols.sh "$dir/prefix/lib/libpmm.so" include/pmm.h >/dev/null

mkdir -p "$dir/app"
cat >"$dir/app/app.c" <<'C'
#include <pmm.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	pmm_t *pmm;
	struct pmm_page *page;

	if (strcmp(pmm_version(), PMM_VERSION_STRING)) {
		fprintf(stderr, "header %s, library %s\n", PMM_VERSION_STRING, pmm_version());
		return 1;
	}
	if (pmm_create(NULL, &pmm))
		return 1;
	page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 3);
	if (!page)
		return 1;
	pmm_free_pages(pmm, page, 3);
	if (pmm_check(pmm))
		return 1;
	pmm_destroy(pmm);
	printf("consumer: pmm %s\n", pmm_version());
	return 0;
}
C

# pkg-config: -lpmm finds libpmm.so; the archive by name for a static link
export PKG_CONFIG_PATH="$dir/prefix/lib/pkgconfig"
pkg-config --exists pmm
# shellcheck disable=SC2046
"$cc" -o "$dir/app/pc-shared" "$dir/app/app.c" $(pkg-config --cflags --libs pmm)
LD_LIBRARY_PATH="$dir/prefix/lib" "$dir/app/pc-shared"
readelf -d "$dir/app/pc-shared" | grep -q 'NEEDED.*libpmm.so.0' ||
	{ echo "check_install: the pkg-config consumer did not link libpmm.so.0" >&2; exit 1; }
# shellcheck disable=SC2046
"$cc" -o "$dir/app/pc-static" "$dir/app/app.c" $(pkg-config --cflags pmm) \
	"$dir/prefix/lib/libpmm.a" -pthread
"$dir/app/pc-static"

# find_package
cat >"$dir/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(pmm 0.1 CONFIG REQUIRED)
add_executable(app app.c)
target_link_libraries(app PRIVATE pmm::pmm)
add_executable(app_shared app.c)
target_link_libraries(app_shared PRIVATE pmm::pmm_shared)
CM
cmake -S "$dir/app" -B "$dir/app/build" -DCMAKE_PREFIX_PATH="$dir/prefix" \
	-DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$dir/app/build" >/dev/null
"$dir/app/build/app"
"$dir/app/build/app_shared"	# its RUNPATH names the prefix's lib

# add_subdirectory: pmm's targets only, the parent's cache untouched
mkdir -p "$dir/parent"
cp "$dir/app/app.c" "$dir/parent/"
cat >"$dir/parent/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(parent C)
set(CMAKE_C_FLAGS_RELEASE "-O1 -DPARENT_FLAGS" CACHE STRING "the parent's" FORCE)
add_subdirectory("$src" pmm)
add_executable(app app.c)
target_link_libraries(app PRIVATE pmm::pmm)
if(TARGET pmm_cli OR TARGET api_test_contig)
  message(FATAL_ERROR "add_subdirectory built pmm's command or tests")
endif()
if(NOT CMAKE_C_FLAGS_RELEASE STREQUAL "-O1 -DPARENT_FLAGS")
  message(FATAL_ERROR "pmm changed the parent's CMAKE_C_FLAGS_RELEASE: \${CMAKE_C_FLAGS_RELEASE}")
endif()
CM
cmake -S "$dir/parent" -B "$dir/parent/build" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$dir/parent/build" -j "$(nproc)" >/dev/null
"$dir/parent/build/app"
echo "check_install: libpmm.so.0 exports only pmm_ names; pkg-config (shared and static), find_package (static and shared) and add_subdirectory consumers ran"
