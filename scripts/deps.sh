#!/usr/bin/env bash
# deps.sh [run|test|plot|bench]: make sure what the build (and, for plot, the
# plot scripts: gnuplot, python3 to read the JSON, and the mallocs; for bench, the mallocs
# `pmm bench peers` compares pmm with: jemalloc 5.3, mimalloc 2.0 and
# tcmalloc's minimal library, Debian's packages) needs is installed.
# As root on Debian it installs what is missing; otherwise it prints the
# exact command to run and fails.
set -euo pipefail
what=${1:-test}

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v make  >/dev/null 2>&1 || need+=(make)
command -v gcc   >/dev/null 2>&1 || need+=(gcc)
# <sys/sdt.h>: the USDT probes (optional to the build, tested by make test)
if [ "$what" = run ] || [ "$what" = test ]; then
	echo '#include <sys/sdt.h>' | gcc -E - >/dev/null 2>&1 || need+=(systemtap-sdt-dev)
fi
if [ "$what" = test ]; then
	[ -f /usr/include/cmocka.h ] || need+=(libcmocka-dev)
	command -v clang >/dev/null 2>&1 || need+=(clang)
	command -v pkg-config >/dev/null 2>&1 || need+=(pkgconf)	# the install consumer test
	compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' >/dev/null ||
		need+=(libclang-rt-14-dev)
fi
if [ "$what" = plot ]; then
	command -v gnuplot >/dev/null 2>&1 || need+=(gnuplot-nox)
	command -v python3 >/dev/null 2>&1 || need+=(python3)
fi
if [ "$what" = bench ] || [ "$what" = plot ]; then	# plot_peers.sh runs bench peers
	for pkg in libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
			need+=("$pkg")
	done
fi
[ ${#need[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y ${need[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq "${need[@]}" >&2
	exit 0
fi
echo "deps: missing ${need[*]}; run as root:" >&2
echo "  $cmd" >&2
exit 1
