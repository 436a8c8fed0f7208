#!/bin/sh
# check_cli.sh EXIT WHAT PATTERN CMD [ARG...] - one test of the `pmm`
# command line (the cli_* ctests): run CMD, pass when it exits EXIT and
#   WHAT=stdout or stderr: that stream matches the grep -E PATTERN;
#   WHAT=json: stdout is one JSON object (python3's json module decides
#              where there is a python3, else its leading '{"' alone) and
#              matches PATTERN.
# CMD's stderr is always passed on, so ctest's FAIL_REGULAR_EXPRESSION sees
# sanitizer reports; its stdout is shown only on failure.
set -u
want=$1 what=$2 pattern=$3
shift 3
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
"$@" >"$dir/out" 2>"$dir/err"
rc=$?
cat "$dir/err" >&2

fail() {
	echo "check_cli: $*" >&2
	echo "check_cli: the command's stdout:" >&2
	head -c 4000 "$dir/out" >&2
	exit 1
}

[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, not $want"
case $what in
stdout) f=$dir/out ;;
stderr) f=$dir/err ;;
json)
	f=$dir/out
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json, sys; sys.exit(not isinstance(json.load(sys.stdin), dict))' \
			<"$f" || fail "stdout of '$*' is not one JSON object"
	else
		head -c 2 "$f" | grep -q '^{"' || fail "stdout of '$*' does not start a JSON object"
	fi
	;;
*) fail "WHAT is stdout, stderr or json, not '$what'" ;;
esac
grep -Eq -- "$pattern" "$f" || fail "$what of '$*' does not match '$pattern'"
echo "check_cli: '$*' exited $rc, $what matches '$pattern'"
