#!/usr/bin/env bash
# check_readme.sh CC LIBPMM - every ```c example in README.md compiles with
# the project's warnings against include/pmm.h, links with libpmm.a, and runs
# to exit 0. A block with main() runs as it is; a block without one must
# define int demo(pmm_t *), which runs on a default instance (pmm_create(NULL)).
set -euo pipefail
cd "$(dirname "$0")/.."
cc=$1
lib=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

awk -v dir="$dir" '
	/^```c$/ { n++; out = sprintf("%s/example%d.c", dir, n); inside = 1; next }
	/^```$/ && inside { inside = 0; close(out); next }
	inside { print > out }
' README.md

fail=0
count=0
for src in "$dir"/example*.c; do
	[ -e "$src" ] || break
	count=$((count + 1))
	if ! grep -q 'int main(' "$src"; then
		cat >>"$src" <<'EOF'

int main(void)
{
	pmm_t *pmm;
	int err = pmm_create(NULL, &pmm);

	if (!err) {
		err = demo(pmm);
		if (pmm_check(pmm))
			err = 1;
		pmm_destroy(pmm);
	}
	return err != 0;
}
EOF
	fi
	bin=${src%.c}
	if ! "$cc" -std=c11 -Wall -Wextra -Werror -Iinclude "$src" "$lib" -lpthread -o "$bin" 2>"$bin.err"; then
		echo "check_readme: README example $count does not compile:" >&2
		cat "$bin.err" >&2
		fail=1
	elif ! "$bin" >"$bin.out" 2>&1; then
		echo "check_readme: README example $count exits $?:" >&2
		tail -20 "$bin.out" >&2
		fail=1
	fi
done
[ "$count" -gt 0 ] || { echo "check_readme: no C example in README.md" >&2; exit 1; }
[ $fail = 0 ] && echo "check_readme: $count README examples compile and run"
exit $fail
