#!/usr/bin/env bash
# check_readme.sh CC LIBPMM [DOC.md] - every ```c example in DOC.md (default
# README.md; a path relative to the repository's top) compiles with the
# project's warnings against include/pmm.h, links with libpmm.a, and runs to
# exit 0. A block with main() runs as it is; a block without one must define
# int demo(pmm_t *), which runs on a default instance (pmm_create(NULL)) and
# must leave it passing pmm_check(). Blocks that are not meant to compile
# (fragments, output) use another fence tag (```text, ```sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cc=$1
lib=$2
doc=${3:-README.md}
[ -f "$doc" ] || { echo "check_readme: no such file: $doc" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# exampleN.c holds block N; exampleN.line the line of its opening fence.
awk -v dir="$dir" '
	/^```c$/ {
		n++; out = sprintf("%s/example%d.c", dir, n); inside = 1
		print NR > sprintf("%s/example%d.line", dir, n); close(sprintf("%s/example%d.line", dir, n))
		next
	}
	/^```$/ && inside { inside = 0; close(out); next }
	inside { print > out }
' "$doc"

fail=0
count=0
n=0
while :; do
	n=$((n + 1))
	src=$dir/example$n.c
	[ -e "$src" ] || break
	count=$n
	where="$doc example $n (line $(cat "$dir/example$n.line"))"
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
		echo "check_readme: $where does not compile:" >&2
		cat "$bin.err" >&2
		fail=1
		continue
	fi
	rc=0
	"$bin" >"$bin.out" 2>&1 || rc=$?
	if [ $rc != 0 ]; then
		echo "check_readme: $where exits $rc:" >&2
		tail -20 "$bin.out" >&2
		fail=1
	fi
done
[ "$count" -gt 0 ] || { echo "check_readme: no C example in $doc" >&2; exit 1; }
[ $fail = 0 ] && echo "check_readme: $count examples of $doc compile and run"
exit $fail
