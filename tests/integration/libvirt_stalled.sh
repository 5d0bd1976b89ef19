# libvirt is never on the sampling path: with a libvirt that accepts the
# connection and never answers, the probe keeps sampling its --pid targets
# every interval, and still stops promptly.
source "$(dirname "$0")/../lib.sh"

DB=$WORK/vigil.db
URL=$(free_tcp_url)
SOCK=$WORK/stalled-libvirt.sock

coproc STALL { "$TBIN/stall_socket" "$SOCK" 60; }
started $STALL_PID
read -r -t 5 ready <&"${STALL[0]}"
check "the stalled libvirt socket listens" [ "${ready:-}" = ready ]

"$TBIN/burn" --duty 30 --seconds 60 > /dev/null & BURN=$!; started $BURN
start_collector "$DB" "$URL" || { check "collector starts" false; exit 0; }
"$BIN/vigil-probe" --libvirt "qemu+unix:///system?socket=$SOCK" --rediscover 1 --collector "$URL" \
	--pid burner=$BURN >> "$WORK/probe.log" 2>&1 &
PROBE=$!; started $PROBE

# The first listing is waited for at most 3 s at start-up; then sampling
# must not wait on libvirt at all.
sleep 4
t0=$(now_ms)
sleep 6
t1=$(now_ms)
# The whole-VM CPU rows that overlap the window [t0, t1].
rows() { stored "$DB" burner cpu.used_pct --tags '' "$1" $t0 $t1; }
span=$(rows span)
worst_gap=$(rows worst-gap)
echo "  while libvirt hangs: rows span ${span:-0} ms of the 6 s window, largest gap between rows ${worst_gap:-?} ms"
check "the --pid target's rows cover the window while libvirt hangs" [ "${span:-0}" -ge 5500 ]
check "no sample is missed while libvirt hangs (no gap over 500 ms between rows)" [ "${worst_gap:-9999}" -lt 500 ]
check "the probe is still alive" kill -0 $PROBE

stop_start=$(now_ms)
kill -TERM $PROBE
wait $PROBE; rc=$?
stop_ms=$(( $(now_ms) - stop_start ))
echo "  stopped in $stop_ms ms with status $rc"
check "it stops within 5 s although a libvirt call hangs" [ $stop_ms -lt 5000 ]
check "and exits 0" [ $rc = 0 ]
