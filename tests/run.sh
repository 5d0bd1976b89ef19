#!/usr/bin/env bash
# Runs the tests and ends with the line "N passed, N failed".
#   tests/run.sh          everything (root): the integration scripts are
#                         linted, then the cmocka unit tests (built with
#                         ASan/UBSan) run, then the integration tests
#                         against the real kernel, SQLite and nng
#   tests/run.sh --unit   the unit tests only; any user (make check)
#   tests/run.sh --lint   the lint of the integration scripts only
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

usage() {
	echo "usage: tests/run.sh [--unit | --lint]" >&2
	exit 2
}

MODE=all
case $# in
0) ;;
1)
	case $1 in
	--unit) MODE=unit ;;
	--lint) MODE=lint ;;
	*) usage ;;
	esac
	;;
*) usage ;;
esac

if [ $MODE = all ] && [ "$(id -u)" -ne 0 ]; then
	echo "tests: the integration tests load BPF programs, attach tc filters and start VMs: run as root" >&2
	echo "tests: 'tests/run.sh --unit' (make check) runs the unit tests as any user" >&2
	exit 2
fi

RESULTS=$(mktemp /tmp/vigil-results.XXXXXX)
trap 'rm -f "$RESULTS"' EXIT
export VIGIL_RESULTS=$RESULTS

record() { # COUNT KIND
	local i
	for ((i = 0; i < $1; i++)); do echo "$2" >> "$RESULTS"; done
}

summary() {
	local passed failed skipped
	passed=$(grep -c '^pass$' "$RESULTS")
	failed=$(grep -c '^fail$' "$RESULTS")
	skipped=$(grep -c '^skip$' "$RESULTS")
	echo
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
}

# A check runs one command ("check NAME [ A ] && [ B ]" would never count
# B): tests/lint-checks.awk finds the scripts that break that rule. Each
# finding is a failure, and such a script is not run. Sets REJECTED to
# the rejected scripts, one per line.
REJECTED=""
lint() {
	local findings rc line
	findings=$(awk -f tests/lint-checks.awk tests/integration/*.sh)
	rc=$?
	if [ $rc -gt 1 ]; then
		echo "not ok - the lint of tests/integration (tests/lint-checks.awk) could not run (awk exited $rc)"
		record 1 fail
		return
	fi
	if [ -z "$findings" ]; then
		echo "ok - every check in tests/integration runs one command"
		record 1 pass
		return
	fi
	while IFS= read -r line; do
		echo "not ok - $line"
		record 1 fail
		REJECTED+="${line%%:*}"$'\n'
	done <<< "$findings"
}

unit_tests() {
	local t out rc passed failed found=0
	for t in build/tests/test_*; do
		[ -x "$t" ] && [ -f "$t" ] || continue
		found=1
		out=$("$t" 2>&1)
		rc=$?
		echo "$out"
		passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<< "$out" | tail -n 1)
		failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<< "$out" | tail -n 1)
		record "${passed:-0}" pass
		record "${failed:-0}" fail
		# A crash (sanitizer report) leaves no summary: count it as a failure.
		if [ $rc -ne 0 ] && [ -z "$failed" ]; then
			echo "not ok - $t exited $rc without a summary"
			record 1 fail
		fi
	done
	if [ $found = 0 ]; then
		echo "not ok - no unit test binaries in build/tests (make check builds them)"
		record 1 fail
	fi
}

integration_tests() {
	local t
	for t in tests/integration/*.sh; do
		echo "== $(basename "$t" .sh)"
		if grep -qxF "$t" <<< "$REJECTED"; then
			echo "not run: its checks must be fixed first (see the lint above)"
			continue
		fi
		bash "$t" || { echo "not ok - $t exited $?"; record 1 fail; }
	done
}

case $MODE in
lint)
	echo "== lint"
	lint
	;;
unit)
	echo "== unit tests"
	unit_tests
	;;
all)
	echo "== lint"
	lint
	echo "== unit tests"
	unit_tests
	integration_tests
	;;
esac
summary
