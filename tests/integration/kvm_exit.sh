# VM exits counted by bpf/kvm_exit.bpf.c for a tiny guest whose exits are
# known (tests/helpers/kvm_tiny.c: OUTS `out` instructions and one `hlt`,
# ROUNDS times), and the loader going on without KVM exits where KVM is not
# loaded or tracefs is missing. tests/helpers/kvmcount.c drives the loader.
source "$(dirname "$0")/../lib.sh"

OUTS=5
ROUNDS=20
SLOT=7

# --- degrading --------------------------------------------------------------
# kvmcount in a private mount namespace whose tracefs is an empty tmpfs,
# which is what a host without the kvm module shows (or, without an events
# directory, a host without tracefs). It must say why, and keep running
# until the process it was given has exited.
degraded_run() { # NAME EVENTS_DIR(yes|no)
	local sleeper mk=true
	[ "$2" = yes ] && mk="mkdir -p /sys/kernel/tracing/events/sched"
	local t0
	t0=$(now_ms)
	sleep 1 & sleeper=$!
	unshare --mount --propagation private sh -c "
		mount -t tmpfs vigil-test /sys/kernel/tracing && $mk &&
		{ [ ! -d /sys/kernel/debug ] || mount -t tmpfs vigil-test /sys/kernel/debug; } &&
		exec '$TBIN/kvmcount' --pid $sleeper --seconds 10" > "$WORK/$1.out" 2> "$WORK/$1.err"
	echo $? > "$WORK/$1.rc"
	echo $(($(now_ms) - t0)) > "$WORK/$1.ms"
	wait $sleeper
}

degraded_run nokvm yes
check "without KVM: kvmcount exits 0" [ "$(cat "$WORK/nokvm.rc")" = 0 ]
check "without KVM: the loader fails with ENOENT" grep -qx "degraded errno=2" "$WORK/nokvm.out"
check "without KVM: says KVM exits are not counted and why" \
	grep -q "KVM exits not counted: .*no /sys/kernel/tracing/events/kvm/kvm_exit: KVM is not loaded" "$WORK/nokvm.err"
check "without KVM: keeps running until the watched process exits" \
	sh -c "[ $(cat "$WORK/nokvm.ms") -ge 1000 ] && tail -n 1 '$WORK/nokvm.out' | grep -qx 'lost 0'"

degraded_run notracefs no
check "without tracefs: kvmcount exits 0" [ "$(cat "$WORK/notracefs.rc")" = 0 ]
check "without tracefs: the loader fails with ENODEV, not ENOENT" grep -qx "degraded errno=19" "$WORK/notracefs.out"
check "without tracefs: says tracefs is not mounted" grep -q "KVM exits not counted: .*tracefs is not mounted" \
	"$WORK/notracefs.err"

# --- counting a tiny guest ----------------------------------------------------
: > "$WORK/tiny.out"
"$TBIN/kvm_tiny" --stop --outs $OUTS --rounds $ROUNDS > "$WORK/tiny.out" 2> "$WORK/tiny.err" &
TINY=$!; started $TINY
wait_for "grep -q ready '$WORK/tiny.out' || ! kill -0 $TINY 2>/dev/null" 10
if ! grep -q ready "$WORK/tiny.out"; then
	skip "exact exit counts of a tiny guest" "cannot set up a guest through /dev/kvm: $(head -c 300 "$WORK/tiny.err")"
	exit 0
fi
wait_for "grep -q '^State:.*T' /proc/$TINY/status" 5

: > "$WORK/count.out"
"$TBIN/kvmcount" --pid $TINY --slot $SLOT --seconds 30 > "$WORK/count.out" 2> "$WORK/count.err" &
COUNT=$!; started $COUNT
wait_for "grep -Eq '^(ready|degraded)' '$WORK/count.out'" 10
check "the loader loads and attaches to kvm:kvm_exit on this kernel" grep -qx ready "$WORK/count.out"
[ -s "$WORK/count.err" ] && sed 's/^/  kvmcount: /' "$WORK/count.err"

# perf, when installed, counts the same events independently.
PERF=
if command -v perf > /dev/null; then
	perf stat -x, -e kvm:kvm_exit -p $TINY -o "$WORK/perf.out" > /dev/null 2>&1 &
	PERF=$!; started $PERF
	sleep 0.5 # perf has opened its counter
fi

kill -CONT $TINY
wait $TINY; tiny_rc=$?
wait $COUNT; count_rc=$?
if [ -n "$PERF" ]; then
	kill -INT $PERF 2>/dev/null; wait $PERF 2>/dev/null
fi
guest=$(grep '^io=' "$WORK/tiny.out")
echo "  guest (as kvm_tiny saw it): $guest; expected io=$((OUTS * ROUNDS)) hlt=$ROUNDS"
sed 's/^/  kvmcount: /' "$WORK/count.out"
check "the tiny guest ran to the end" [ "$tiny_rc" = 0 -a "$guest" = "io=$((OUTS * ROUNDS)) hlt=$ROUNDS" ]
check "kvmcount exits 0" [ "$count_rc" = 0 ]
check "no exit was lost" grep -qx "lost 0" "$WORK/count.out"

# "count SLOT ISA REASON NAME N" -> N for NAME, 0 if absent.
count_of() { awk -v s=$SLOT -v n="$1" '$1 == "count" && $2 == s && $5 == n { c += $6 } END { print c + 0 }' \
	"$WORK/count.out"; }
total=$(awk -v s=$SLOT '$1 == "count" && $2 == s { c += $6 } END { print c + 0 }' "$WORK/count.out")
isa=$(awk -v s=$SLOT '$1 == "count" && $2 == s { print $3; exit }' "$WORK/count.out")
perf_total=
[ -n "$PERF" ] && perf_total=$(awk -F, '/kvm:kvm_exit/ { print $1 + 0 }' "$WORK/perf.out")
[ -n "$perf_total" ] && echo "  perf counted $perf_total kvm:kvm_exit events, the loader $total"
if [ -n "$perf_total" ] && [ "$perf_total" -gt 0 ]; then
	check "the loader counts every kvm:kvm_exit event perf counts" [ "$total" = "$perf_total" ]
fi

vendors=$(ls /sys/module 2>/dev/null | grep -E '^kvm_' | paste -sd ' ')
if [ "$total" = 0 ]; then
	# VMX and SVM trace every exit; another vendor module may not.
	if [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; then
		check "exits of the tiny guest are counted (vendor module: ${vendors:-none})" false
	elif [ -n "$perf_total" ] && [ "$perf_total" -gt 0 ]; then
		: # counted as a failure above
	else
		skip "exact exit counts of a tiny guest" "the guest ran ($guest) but kvm:kvm_exit never fired${perf_total:+ (perf counted $perf_total)}: this host's KVM vendor module (${vendors:-none}) does not trace kvm_exit for it"
	fi
	exit 0
fi

case $isa in
vmx) io_name=io_instruction ;;
svm) io_name=io ;;
*)
	skip "exact exit counts of a tiny guest" "exits reported with ISA '$isa', which has no exit reason names"
	exit 0
	;;
esac
check "I/O-instruction exits ($io_name) equal the guest's out instructions" \
	[ "$(count_of $io_name)" = $((OUTS * ROUNDS)) ]
check "HLT exits equal the guest's hlt instructions" [ "$(count_of hlt)" = $ROUNDS ]
