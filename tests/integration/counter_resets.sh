# Counter restarts are explicit: a --pid target given by a pid file is
# killed and started again under the same NAME, and the probe's --stdout
# table says RESET=yes on exactly the first batch of the new process (and
# on every VM's first batch after the probe starts), never elsewhere, with
# sane figures in that batch.
source "$(dirname "$0")/../lib.sh"

PIDFILE=$WORK/qemu-w.pid

# Publishes a pid file the way QEMU's -pidfile does: whole, in one step.
publish_pid() { echo "$1" > "$PIDFILE.tmp" && mv "$PIDFILE.tmp" "$PIDFILE"; }

# The first "QEMU": one vCPU thread. The restarted one has two, which tells
# its batches apart in the table.
"$TBIN/burn" --duty 20 --threads 1 --name-threads "CPU %d/TCG" --seconds 60 > /dev/null &
FIRST=$!; started $FIRST
"$TBIN/burn" --duty 10 --seconds 60 > /dev/null &
STEADY=$!; started $STEADY
wait_for "thread_named $FIRST 'CPU 0/TCG' > /dev/null" 5 || { check "first target names its vCPU thread" false; exit 0; }
publish_pid $FIRST

"$BIN/vigil-probe" --no-libvirt --stdout --interval 0.5 --host hv-resets --log-level debug \
	--pid w="$PIDFILE" --pid steady=$STEADY > "$WORK/out" 2> "$WORK/err" &
PROBE=$!; started $PROBE
sleep 3

"$TBIN/burn" --duty 20 --threads 2 --name-threads "CPU %d/TCG" --seconds 60 > /dev/null &
SECOND=$!; started $SECOND
wait_for "thread_named $SECOND 'CPU 1/TCG' > /dev/null" 5 || { check "second target names its vCPU threads" false; exit 0; }
kill $FIRST; wait $FIRST 2>/dev/null
publish_pid $SECOND
sleep 3
kill $PROBE; wait $PROBE 2>/dev/null

# One line per (batch, VM): "BATCH VM STATE VCPUS RESET". A batch starts at
# each header line of the table.
awk '$1 == "VM" && $2 == "STATE" { n++; next }
     n && !seen[n, $1]++ { print n, $1, $2, $3, $NF }' "$WORK/out" > "$WORK/batches"
echo "  batches: $(awk 'END { print $1 }' "$WORK/batches"); restart and flags of w:"
awk '$2 == "w" && (prev != $3 "/" $4 || $5 == "yes") { print "    batch " $1 ": " $3 ", " $4 " vCPU(s), reset " $5 }
     $2 == "w" { prev = $3 "/" $4 }' "$WORK/batches"

first_new=$(awk '$2 == "w" && $4 == 2 { print $1; exit }' "$WORK/batches")
flagged_w=$(awk '$2 == "w" && $5 == "yes" { printf "%s ", $1 }' "$WORK/batches")
check "the probe ran several batches before and after the restart" \
	[ "$(awk '$2 == "w" && $4 == 1' "$WORK/batches" | wc -l)" -ge 4 -a "$(awk '$2 == "w" && $4 == 2' "$WORK/batches" | wc -l)" -ge 3 ]
check "the new process is followed under the same NAME" [ -n "$first_new" ]
check "w is flagged on its first batch and on the first batch of the new process, nowhere else" \
	[ "$flagged_w" = "1 $first_new " ]
check "a VM that did not restart is flagged on its first batch only" \
	[ "$(awk '$2 == "steady" && $5 == "yes" { printf "%s ", $1 }' "$WORK/batches")" = "1 " ]
check "the host entry is flagged on the probe's first batch only" \
	[ "$(awk '$2 == "hv-resets" && $5 == "yes" { printf "%s ", $1 }' "$WORK/batches")" = "1 " ]
check "the debug log names the new process as the reason" \
	grep -q "vm w: counters_reset: new process $SECOND" "$WORK/err"

# The restart batch counts only the new process: a CPU share two threads
# at 20% (plus an idle main thread) can reach, never negative or huge.
restart_cpu=$(awk -v b="$first_new" '
	$1 == "VM" && $2 == "STATE" { n++; next }
	n == b && $1 == "w" && $4 == "cpu.used_pct" && $5 == "-" { print $6 }' "$WORK/out")
echo "  w cpu.used_pct in the restart batch: ${restart_cpu:-none}%"
check "the restart batch's CPU % is between 0 and 100" \
	awk -v v="${restart_cpu:--1}" 'BEGIN { exit !(v >= 0 && v <= 100) }'
check "no figure of the run is negative" \
	[ "$(awk '$1 != "VM" && $6 + 0 < 0' "$WORK/out" | wc -l)" = 0 ]
# "vm w (UUID): monitoring pid N" for each process: one UUID for both.
check "both processes are the same VM (one UUID, two pids)" \
	[ "$(sed -n 's/.*vm w (\([0-9a-f-]*\)): monitoring pid \([0-9]*\).*/\1 \2/p' "$WORK/err" |
	     awk '{ u[$1]; p[$2] } END { print length(u) "/" length(p) }')" = 1/2 ]

# Probe restart: a new probe's one batch is the first for every VM.
"$BIN/vigil-probe" --no-libvirt --once --stdout --interval 0.5 --host hv-resets \
	--pid w="$PIDFILE" --pid steady=$STEADY > "$WORK/once" 2> /dev/null
check "after a probe restart, every VM's first batch is flagged" \
	[ "$(awk '$1 != "VM" { print $1, $NF }' "$WORK/once" | sort -u | tr '\n' ' ')" = "hv-resets yes steady yes w yes " ]

# The pid file names no running process: listed, not fatal, no counters.
kill $SECOND; wait $SECOND 2>/dev/null
"$BIN/vigil-probe" --no-libvirt --once --stdout --interval 0.5 --pid w="$PIDFILE" > "$WORK/stale" 2> "$WORK/stale.err"
check "a stale pid file lists the VM as no-process" grep -Eq '^w +no-process' "$WORK/stale"
check "and says so once at start" grep -q "no running process yet" "$WORK/stale.err"
