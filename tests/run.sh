#!/usr/bin/env bash
# Runs every test: the cmocka unit tests (built with ASan/UBSan), then the
# integration tests against the real kernel, SQLite and nng. Ends with the
# line "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ "$(id -u)" -ne 0 ]; then
	echo "tests: the integration tests load BPF programs and need root" >&2
	exit 2
fi

RESULTS=$(mktemp /tmp/vigil-results.XXXXXX)
trap 'rm -f "$RESULTS"' EXIT
export VIGIL_RESULTS=$RESULTS

record() { # COUNT KIND
	local i
	for ((i = 0; i < $1; i++)); do echo "$2" >> "$RESULTS"; done
}

echo "== unit tests"
for t in build/tests/test_*; do
	[ -x "$t" ] || continue
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

for t in tests/integration/*.sh; do
	echo "== $(basename "$t" .sh)"
	bash "$t" || { echo "not ok - $t exited $?"; record 1 fail; }
done

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
