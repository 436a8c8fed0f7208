#!/usr/bin/env bash
# check_headers.sh [CC] - every src/*.h compiles on its own, in C11 with the
# project's warnings, in both the release (PMM_DEBUG=0) and the debug
# (PMM_DEBUG=2) configuration: a header includes what it uses. So does every
# src/*.c: the library is built as one translation unit, which would hide a
# file that uses a header it does not include.
set -euo pipefail
cd "$(dirname "$0")/.."
cc=${1:-cc}
fail=0
for h in src/*.h; do
	for dbg in 0 2; do
		if ! printf '#include "%s"\n' "${h#src/}" |
		     "$cc" -std=c11 -Wall -Wextra -Werror -Wno-unused-function -DPMM_DEBUG=$dbg \
			-Iinclude -Isrc -fsyntax-only -x c - 2>/tmp/check_headers.$$; then
			echo "check_headers: $h does not compile alone (PMM_DEBUG=$dbg):" >&2
			cat /tmp/check_headers.$$ >&2
			fail=1
		fi
	done
done
for c in src/*.c; do
	for dbg in 0 2; do
		if ! "$cc" -std=c11 -Wall -Wextra -Werror -DPMM_DEBUG=$dbg \
			-Iinclude -Isrc -fsyntax-only "$c" 2>/tmp/check_headers.$$; then
			echo "check_headers: $c does not compile alone (PMM_DEBUG=$dbg):" >&2
			cat /tmp/check_headers.$$ >&2
			fail=1
		fi
	done
done
rm -f /tmp/check_headers.$$
[ $fail = 0 ] && echo "check_headers: $(ls src/*.h | wc -l) headers and $(ls src/*.c | wc -l) sources compile alone"
exit $fail
