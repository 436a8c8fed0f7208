#!/usr/bin/env bash
# check_usdt.sh FILE... - every USDT probe src/trace.h lists (its
# PMM_TRACE_EVENTS X-macro) is in each ELF file's notes, under provider
# pmm, with a semaphore: what perf, bpftrace and SystemTap attach to.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t events < <(sed -n 's/^[[:space:]]*X(\(mm_[a-z_]*\)).*/\1/p' src/trace.h)
[ ${#events[@]} -ge 7 ] || { echo "check_usdt: no events parsed from src/trace.h" >&2; exit 1; }
fail=0
for f in "$@"; do
	notes=$(readelf -n "$f")
	for e in "${events[@]}"; do
		# Provider, Name, then Location with a non-zero Semaphore
		if ! grep -A2 -x "    Provider: pmm" <<<"$notes" | grep -A1 -x "    Name: $e" |
			grep -q 'Semaphore: 0x0*[1-9a-f]'; then
			echo "check_usdt: $f has no probe pmm:$e with a semaphore" >&2
			fail=1
		fi
	done
done
[ $fail = 0 ] && echo "check_usdt: ${#events[@]} probes in $*"
exit $fail
