#!/usr/bin/env bash
# check_freestanding.sh CC - the core as an OS or unikernel embeds it:
# every src/*.c but os.c and print.c compiled as one unit with
# -ffreestanding -nostdlib and no libc headers at all (-nostdinc: only the
# compiler's own stddef.h, stdint.h, stdatomic.h, ...), partially linked
# into core.o, in a release and a debug configuration. nm -u core.o may
# name only the functions include/pmm_platform.h declares and the four GCC
# and Clang require of a freestanding environment (memcpy, memmove, memset,
# memcmp). Then tests/freestanding/ links core.o with nothing but its
# platform layer and drives it on PMM_BACKING_USER memory.
set -euo pipefail
cd "$(dirname "$0")/.."
cc=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

for f in src/*.c; do
	case $f in src/os.c | src/print.c) ;; *) echo "#include \"$PWD/$f\"" ;; esac
done >"$dir/core.c"
mapfile -t allowed < <(sed -n 's/^[a-z].*[ *]\(pmm_os_[a-z_]*\)(.*/\1/p' include/pmm_platform.h)
[ ${#allowed[@]} -ge 8 ] || { echo "check_freestanding: no platform functions parsed" >&2; exit 1; }
allowed+=(memcpy memmove memset memcmp)
compiler_include=$("$cc" -print-file-name=include)

fail=0
for cfg in "release -O2 -DPMM_DEBUG=0" "debug -O1 -DPMM_DEBUG=2"; do
	read -r name flags <<<"$cfg"
	# shellcheck disable=SC2086
	"$cc" -std=c11 $flags -ffreestanding -nostdlib -nostdinc -isystem "$compiler_include" \
		-fvisibility=hidden -Wall -Wextra -Wno-unused-parameter -Werror \
		-Iinclude -Isrc -r -o "$dir/core-$name.o" "$dir/core.c"
	while read -r sym; do
		# (no pipe into grep -q: under pipefail its early exit can fail the printf)
		if [[ " ${allowed[*]} " != *" $sym "* ]]; then
			echo "check_freestanding: the $name core references $sym, which is not the platform's" >&2
			fail=1
		fi
	done < <(nm -u "$dir/core-$name.o" | awk '{print $2}')
	"$cc" -std=c11 -O1 -g -Wall -Wextra -Werror -Iinclude -Itests/freestanding \
		-o "$dir/test-$name" tests/freestanding/test_freestanding.c \
		tests/freestanding/platform.c "$dir/core-$name.o" -lcmocka -lpthread
	if ! "$dir/test-$name" >"$dir/out-$name" 2>&1; then
		echo "check_freestanding: the $name core failed its tests:" >&2
		cat "$dir/out-$name" >&2
		fail=1
	fi
done
[ $fail = 0 ] && echo "check_freestanding: core.o needs only: $(nm -u "$dir/core-release.o" |
	awk '{print $2}' | tr '\n' ' ')"
exit $fail
