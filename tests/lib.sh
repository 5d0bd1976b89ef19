# Shared helpers for the integration tests. Each test script sources this,
# calls check/skip, and the counts go to $VIGIL_RESULTS for tests/run.sh.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/build/bin
TBIN=$ROOT/build/tests
: "${VIGIL_RESULTS:=/dev/null}"

WORK=$(mktemp -d /tmp/vigil-test.XXXXXX)
STARTED_PIDS=()

# Ends only the processes this test started, by PID.
cleanup() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${STARTED_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ "${KEEP_WORK:-0}" = 1 ]; then
		echo "  (work files kept in $WORK)"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

started() { STARTED_PIDS+=("$1"); }

# check NAME COMMAND...: runs COMMAND; passes when it exits 0. COMMAND is
# one simple command: "check NAME [ A ] && [ B ]" would run B after check
# and never count it (tests/run.sh refuses such scripts); put a compound
# condition in a function and check that.
check() {
	local name=$1
	shift
	if "$@"; then
		echo "ok - $name"
		echo pass >> "$VIGIL_RESULTS"
	else
		echo "not ok - $name"
		echo fail >> "$VIGIL_RESULTS"
	fi
}

# require NAME COMMAND...: a check the rest of the script depends on; when
# it fails the script ends there (check itself always returns 0, so
# "check ... || exit" would never exit).
require() {
	local name=$1
	shift
	if "$@"; then
		check "$name" true
	else
		check "$name" false
		exit 0
	fi
}

# skip NAME REASON: a skip must always say why.
skip() {
	echo "skip - $1: $2"
	echo skip >> "$VIGIL_RESULTS"
}

# Numeric comparison with awk: cmp A OP B, e.g. cmp 3.2 '<' 5.
cmp() { awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"; }

# Waits up to $2 seconds for command $1 (a string) to succeed.
wait_for() {
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -lt "$deadline" ]; do
		eval "$1" && return 0
		sleep 0.2
	done
	return 1
}

now_ms() { date +%s%3N; }

# CPU time of a process (all threads, live and exited) in ms, from /proc.
proc_cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"
}

# On-CPU and run-queue wait ms of one thread, from the scheduler's schedstat.
thread_sched_ms() { # PID TID -> "ON_CPU_MS WAIT_MS"
	awk '{ printf "%.3f %.3f\n", $1 / 1e6, $2 / 1e6 }' "/proc/$1/task/$2/schedstat"
}

# Thread id of the thread of PID named NAME.
thread_named() { # PID NAME
	local t
	for t in /proc/$1/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] && { basename "$t"; return 0; }
	done
	return 1
}

# A tcp:// URL on loopback whose port nothing listens on now: a fixed port
# would clash with a run in parallel, or with a collector left running.
free_tcp_url() {
	local port
	while :; do
		port=$((20000 + RANDOM % 20000))
		[ -z "$(ss -Hltn "sport = :$port")" ] && break
	done
	echo "tcp://127.0.0.1:$port"
}

# start_collector DB URL: a collector of the test's own, without the
# configuration file of the default place (one left there must not change
# the test). Succeeds once it answers on URL; fails if it could not listen
# there, rather than let the test talk to whoever holds the address.
start_collector() { # DB URL
	"$BIN/vigil-collector" --config /dev/null --db "$1" --listen "$2" >> "$WORK/collector.log" 2>&1 &
	COLLECTOR_PID=$!
	started $COLLECTOR_PID
	wait_for "grep -qF 'listening on $2 ' '$WORK/collector.log' || ! kill -0 $COLLECTOR_PID 2>/dev/null" 10 &&
		kill -0 $COLLECTOR_PID 2>/dev/null &&
		wait_for "'$BIN/vigilctl' --collector '$2' --timeout 500 status >/dev/null 2>&1" 10
}

# stored DB VM METRIC [FILTER...] FIGURE [ARGS]: one figure over a VM's
# stored intervals of METRIC ('' for every metric), read from the database
# file through vigilctl (history --json); tests/intervals.py lists the
# filters and figures. Prints nothing and fails when vigilctl fails (an
# unreadable database, say), so no expected figure can match by accident;
# a VM that has no rows (or no such VM) gives count 0.
stored() {
	local db=$1 vm=$2 metric=$3 json
	shift 3
	json=$("$BIN/vigilctl" --db "$db" history "$vm" ${metric:+"$metric"} --since @0 --json 2>/dev/null) || return 1
	python3 "$ROOT/tests/intervals.py" "$@" <<< "$json"
}

# Time-weighted mean of a VM's metric over [T0, T1] ms, from the database.
stored_mean() { # DB VM METRIC TAGS T0 T1
	stored "$1" "$2" "$3" --tags "$4" mean "$5" "$6"
}
