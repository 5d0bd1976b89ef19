# VM exits counted by bpf/kvm_exit.bpf.c for a tiny guest whose exits are
# known (tests/helpers/kvm_tiny.c: OUTS `out` instructions and one `hlt`,
# ROUNDS times); the loader on a fresh host, where nothing has mounted
# tracefs (it mounts tracefs itself); and going on without KVM exits where
# KVM is not loaded or tracefs cannot be mounted, with vigilctl hosts
# reporting the family absent. tests/helpers/kvmcount.c drives the loader.
#
# Everything runs in a private mount namespace of its own that starts
# without tracefs (IN_FRESH_NS), so no check depends on what an earlier
# test, a tool or a person has mounted, and what the loader mounts vanishes
# with the namespace. The root namespace's mounts are never touched.
source "$(dirname "$0")/../lib.sh"

OUTS=5
ROUNDS=20
SLOT=7
DB=$WORK/vigil.db
URL=ipc://$WORK/collector.sock

# "${IN_FRESH_NS[@]}" COMMAND...: runs COMMAND in a new private mount
# namespace that looks like a fresh host: nothing at /sys/kernel/tracing,
# and no debugfs, whose tracing/ directory would mount tracefs on first
# access. A command line rather than a function, so that a background run
# is one process that execs into COMMAND: $! is COMMAND's PID, for kill and
# for the cleanup.
IN_FRESH_NS=(unshare --mount --propagation private sh -c '
	for m in /sys/kernel/debug/tracing /sys/kernel/debug /sys/kernel/tracing; do
		while mountpoint -q "$m"; do umount "$m" 2>/dev/null || umount -l "$m" || exit 125; done
	done
	exec "$@"' in_fresh_ns)

# No tracefs or debugfs among the calling process's mounts.
no_tracefs_mounted() {
	awk '$3 == "tracefs" || $3 == "debugfs" { found = 1 } END { exit found }' /proc/self/mounts
}

# lacks PATTERN FILE: FILE has no line matching PATTERN.
lacks() { ! grep -q "$1" "$2"; }

# A run of kvmcount took at least MS and ended with "lost 0".
ran_until_exit() { # NAME MS
	[ "$(cat "$WORK/$1.ms")" -ge "$2" ] && [ "$(tail -n 1 "$WORK/$1.out")" = "lost 0" ]
}

# vigil-probe --stdout printed probe.family_counted for FAMILY with VALUE.
family_printed() { # FILE FAMILY VALUE
	awk -v f="family=$2" -v v="$3" '$4 == "probe.family_counted" && $5 == f && $6 == v { found = 1 }
		END { exit !found }' "$1"
}

# The host's families in vigilctl hosts --json: LIST (families_absent or
# families_counted) holds FAMILY.
host_family_in() { # JSON HOST LIST FAMILY
	jq -e --arg h "$2" --arg l "$3" --arg f "$4" \
		'any(.hosts[] | select(.host == $h) | .[$l][]; . == $f)' "$1" > /dev/null
}

# vigilctl hosts (the table) lists FAMILIES in the host's ABSENT column.
absent_column_is() { # TABLE HOST FAMILIES
	awk -v h="$2" -v a="$3" '$1 == h && $NF == a { found = 1 } END { exit !found }' "$1"
}

check "a fresh namespace starts without tracefs or debugfs" "${IN_FRESH_NS[@]}" bash -c "$(declare -f no_tracefs_mounted); no_tracefs_mounted"

# --- KVM not loaded ---------------------------------------------------------
# kvmcount where tracefs is mounted but shows no kvm events, which is what a
# host without the kvm module shows: an empty tmpfs over events/ with only a
# sched directory. It must say why, and keep running until the process it
# was given has exited.
nokvm_run() {
	local sleeper t0
	t0=$(now_ms)
	sleep 1 & sleeper=$!
	"${IN_FRESH_NS[@]}" sh -c "mount -t tracefs nodev /sys/kernel/tracing &&
		mount -t tmpfs vigil-test /sys/kernel/tracing/events && mkdir /sys/kernel/tracing/events/sched &&
		exec '$TBIN/kvmcount' --pid $sleeper --seconds 10" > "$WORK/nokvm.out" 2> "$WORK/nokvm.err"
	echo $? > "$WORK/nokvm.rc"
	echo $(($(now_ms) - t0)) > "$WORK/nokvm.ms"
	wait $sleeper
}

nokvm_run
check "without KVM: kvmcount exits 0" [ "$(cat "$WORK/nokvm.rc")" = 0 ]
check "without KVM: the loader fails with ENOENT" grep -qx "degraded errno=2" "$WORK/nokvm.out"
check "without KVM: says KVM exits are not counted and why" \
	grep -q "KVM exits not counted: .*no /sys/kernel/tracing/events/kvm/kvm_exit: KVM is not loaded" "$WORK/nokvm.err"
check "without KVM: keeps running until the watched process exits" ran_until_exit nokvm 1000

# --- a fresh host: tracefs not mounted ------------------------------------------
if [ ! -d /sys/module/kvm ]; then
	skip "KVM exits on a host without tracefs" "the kvm module is not loaded here, so there is no kvm:kvm_exit to attach to"
else
	sleep 2 & sleeper=$!
	"${IN_FRESH_NS[@]}" "$TBIN/kvmcount" --pid $sleeper --seconds 10 > "$WORK/fresh.out" 2> "$WORK/fresh.err"
	wait $sleeper
	check "without tracefs: the loader mounts it and attaches to kvm:kvm_exit" grep -qx ready "$WORK/fresh.out"
	check "without tracefs: the loader says it mounted tracefs" \
		grep -q "tracefs was not mounted: mounted it at /sys/kernel/tracing" "$WORK/fresh.err"

	"${IN_FRESH_NS[@]}" "$BIN/vigil-probe" --no-libvirt --once --stdout --host kvm-fresh \
		> "$WORK/probe-fresh.out" 2> "$WORK/probe-fresh.err"
	check "without tracefs: vigil-probe says it mounted tracefs" \
		grep -q "vigil-probe\[info\]: tracefs was not mounted: mounted it at /sys/kernel/tracing" "$WORK/probe-fresh.err"
	check "without tracefs: vigil-probe counts KVM exits (probe.family_counted family=kvm 1)" \
		family_printed "$WORK/probe-fresh.out" kvm 1.00
	check "without tracefs: vigil-probe has no 'KVM exits not counted' warning" \
		lacks "KVM exits not counted" "$WORK/probe-fresh.err"
fi

# --- tracefs not mounted and not mountable ------------------------------------------
# vigil-probe with every capability but CAP_SYS_ADMIN, which mounting needs:
# it must say why it cannot count KVM exits, keep running, and the host's
# entry must report the family absent.
start_collector "$DB" "$URL" || { check "collector starts" false; exit 0; }
"${IN_FRESH_NS[@]}" setpriv --bounding-set -sys_admin --inh-caps -sys_admin \
	"$BIN/vigil-probe" --no-libvirt --host kvm-nomount --collector "$URL" > "$WORK/nomount.log" 2>&1 &
PROBE=$!; started $PROBE
wait_for "grep -q 'sampling every' '$WORK/nomount.log'" 10
sleep 3 # a few intervals reach the collector
check "without CAP_SYS_ADMIN: says tracefs could not be mounted, and why" \
	grep -q "KVM exits not counted: .*mounting it was refused: Operation not permitted (mounting needs CAP_SYS_ADMIN" \
	"$WORK/nomount.log"
check "without CAP_SYS_ADMIN: the probe keeps running" kill -0 $PROBE
"$BIN/vigilctl" --collector "$URL" hosts --json > "$WORK/hosts.json"
"$BIN/vigilctl" --collector "$URL" hosts > "$WORK/hosts.txt"
sed 's/^/  /' "$WORK/hosts.txt"
check "vigilctl hosts --json reports kvm absent" host_family_in "$WORK/hosts.json" kvm-nomount families_absent kvm
check "vigilctl hosts --json reports cpu counted" host_family_in "$WORK/hosts.json" kvm-nomount families_counted cpu
check "vigilctl hosts shows kvm in the ABSENT column" absent_column_is "$WORK/hosts.txt" kvm-nomount kvm
kill $PROBE; wait $PROBE

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
"${IN_FRESH_NS[@]}" "$TBIN/kvmcount" --pid $TINY --slot $SLOT --seconds 30 > "$WORK/count.out" 2> "$WORK/count.err" &
COUNT=$!; started $COUNT
wait_for "grep -Eq '^(ready|degraded)' '$WORK/count.out'" 10
check "the loader loads and attaches to kvm:kvm_exit on this kernel" grep -qx ready "$WORK/count.out"
[ -s "$WORK/count.err" ] && sed 's/^/  kvmcount: /' "$WORK/count.err"

# perf, when installed, counts the same events independently.
PERF=
if command -v perf > /dev/null; then
	"${IN_FRESH_NS[@]}" sh -c "mount -t tracefs nodev /sys/kernel/tracing &&
		exec perf stat -x, -e kvm:kvm_exit -p $TINY -o '$WORK/perf.out'" > /dev/null 2>&1 &
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
tiny_ran_to_end() { [ "$tiny_rc" = 0 ] && [ "$guest" = "io=$((OUTS * ROUNDS)) hlt=$ROUNDS" ]; }
check "the tiny guest ran to the end" tiny_ran_to_end
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
