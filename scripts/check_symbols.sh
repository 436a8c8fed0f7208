#!/usr/bin/env bash
# check_symbols.sh LIB HEADER - every symbol LIB (an archive or a shared
# library) defines globally is a pmm_ name that HEADER declares. Sanitizer
# and coverage instrumentation symbols (__asan_*, __odr_asan_*, __tsan_*,
# __sancov_*) are the toolchain's, not ours, and are skipped.
set -euo pipefail
lib=$1 header=$2
case "$lib" in *.so*) opt=-D ;; *) opt= ;; esac
bad=0 n=0
while read -r sym; do
	case "$sym" in __asan*|__odr_asan*|___asan*|__tsan*|__sancov*|__start___sancov*|__stop___sancov*) continue ;; esac
	n=$((n + 1))
	if [[ $sym != pmm_* ]]; then
		echo "check_symbols: $lib exports $sym, which is not a pmm_ name" >&2
		bad=1
	elif ! grep -Eq "[^A-Za-z0-9_]$sym\(" "$header"; then
		echo "check_symbols: $lib exports $sym, which $header does not declare" >&2
		bad=1
	fi
done < <(nm -g --defined-only $opt "$lib" | awk 'NF >= 3 { print $NF }' | sort -u)
[ $bad = 0 ] && echo "check_symbols: $lib exports $n symbols, all pmm_ names of $header"
exit $bad
