# CPU figures from the kernel programs, stored by a real collector, agree
# with the kernel's own accounting (/proc/PID/stat and the vCPU threads'
# schedstat), and run-queue wait rises when the CPUs are oversubscribed.
#
# The "guest" has two vCPU threads that sleep and wake 50 times a second
# next to the busy loop: it preempts the busy thread often, which is where
# pairing switch-in and switch-out events used to lose whole slices.
#
# The "churn" process replaces its two threads by new ones every 100 ms, so
# its CPU time is mostly that of threads that have exited: it checks that the
# kernel adds new threads of a watched process, and that the final counters
# of exiting threads are kept.
source "$(dirname "$0")/../lib.sh"

DB=$WORK/vigil.db
URL=$(free_tcp_url)
WINDOW=5

"$TBIN/burn" --duty 100 --seconds 120 > "$WORK/busy.pid" &
BUSY=$!; started $BUSY
"$TBIN/burn" --duty 50 --seconds 120 > "$WORK/half.pid" &
HALF=$!; started $HALF
"$TBIN/burn" --duty 30 --threads 2 --name-threads "CPU %d/TCG" --seconds 120 > "$WORK/guest.pid" &
GUEST=$!; started $GUEST
"$TBIN/burn" --duty 20 --threads 2 --lifetime-ms 100 --seconds 120 > "$WORK/churn.pid" &
CHURN=$!; started $CHURN

start_collector "$DB" "$URL" || { check "collector starts" false; exit 0; }
"$BIN/vigil-probe" --no-libvirt --collector "$URL" --pid busy=$BUSY --pid half=$HALF --pid guest=$GUEST --pid churn=$CHURN \
	>> "$WORK/probe.log" 2>&1 &
PROBE=$!; started $PROBE

# Let a first interval land, then measure both sides over the same window.
wait_for '[ "$(stored "$DB" half "" count)" -gt 0 ] 2>/dev/null' 10
sleep 1
VCPU0=$(thread_named $GUEST "CPU 0/TCG"); VCPU1=$(thread_named $GUEST "CPU 1/TCG")
t0=$(now_ms); busy0=$(proc_cpu_ms $BUSY); half0=$(proc_cpu_ms $HALF); churn0=$(proc_cpu_ms $CHURN)
vcpu0_start=$(thread_sched_ms $GUEST $VCPU0); vcpu1_start=$(thread_sched_ms $GUEST $VCPU1)
sleep $WINDOW
t1=$(now_ms); busy1=$(proc_cpu_ms $BUSY); half1=$(proc_cpu_ms $HALF); churn1=$(proc_cpu_ms $CHURN)
vcpu0_end=$(thread_sched_ms $GUEST $VCPU0); vcpu1_end=$(thread_sched_ms $GUEST $VCPU1)
sleep 2.5 # the last interval of the window is shipped and committed

busy_proc=$(awk -v a=$busy0 -v b=$busy1 -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", (b - a) * 100 / t }')
half_proc=$(awk -v a=$half0 -v b=$half1 -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", (b - a) * 100 / t }')
churn_proc=$(awk -v a=$churn0 -v b=$churn1 -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", (b - a) * 100 / t }')
busy_db=$(stored_mean "$DB" busy cpu.used_pct "" $t0 $t1)
half_db=$(stored_mean "$DB" half cpu.used_pct "" $t0 $t1)
churn_db=$(stored_mean "$DB" churn cpu.used_pct "" $t0 $t1)
echo "  busy: /proc ${busy_proc}%  stored ${busy_db}%"
echo "  half: /proc ${half_proc}%  stored ${half_db}%"
echo "  churn (threads replaced every 100 ms): /proc ${churn_proc}%  stored ${churn_db}%"
within3() { [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d < 3 && d > -3) }'; }
check "busy process CPU % within 3 points of /proc" within3 "$busy_proc" "$busy_db"
check "half-busy process CPU % within 3 points of /proc" within3 "$half_proc" "$half_db"
check "short-lived threads' CPU % within 3 points of /proc" within3 "$churn_proc" "$churn_db"
check "short-lived threads measured running (>10%)" cmp "${churn_db:-0}" '>' 10
# One vCPU thread: schedstat "on wait" ms at both ends of the window against
# the stored vcpu=V series.
check_vcpu() { # V "ON0 WAIT0" "ON1 WAIT1"
	local on_proc wait_proc on_db wait_db
	on_proc=$(awk -v a="$2" -v b="$3" -v t=$((t1 - t0)) \
		'BEGIN { split(a, x); split(b, y); printf "%.2f", (y[1] - x[1]) * 100 / t }')
	wait_proc=$(awk -v a="$2" -v b="$3" -v t=$((t1 - t0)) \
		'BEGIN { split(a, x); split(b, y); printf "%.2f", (y[2] - x[2]) * 100 / t }')
	on_db=$(stored_mean "$DB" guest cpu.used_pct vcpu=$1 $t0 $t1)
	wait_db=$(stored_mean "$DB" guest cpu.wait_pct vcpu=$1 $t0 $t1)
	echo "  guest vcpu $1: on CPU schedstat ${on_proc}% stored ${on_db}%; wait schedstat ${wait_proc}% stored ${wait_db}%"
	check "guest vcpu=$1 CPU % within 3 points of its thread's schedstat" within3 "$on_proc" "$on_db"
	check "guest vcpu=$1 run-queue wait % within 3 points of its thread's schedstat" within3 "$wait_proc" "$wait_db"
	check "guest vcpu=$1 measured running (>5%)" cmp "${on_db:-0}" '>' 5
}
check_vcpu 0 "$vcpu0_start" "$vcpu0_end"
check_vcpu 1 "$vcpu1_start" "$vcpu1_end"

# Guards against agreeing on nothing: both really ran, the busy one more.
# A spinning thread is always runnable: on a CPU or waiting for one. How the
# two split depends on what else the host runs; their sum does not.
busy_wait_db=$(stored_mean "$DB" busy cpu.wait_pct "" $t0 $t1)
check "busy process measured always runnable (on-CPU + wait > 90%)" \
	awk -v u="${busy_db:-0}" -v w="${busy_wait_db:-0}" 'BEGIN { exit !(u + w > 90) }'
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
