# Memory figures of a --pid target: page faults counted in the kernel add up
# to what /proc/PID/stat counted over the same stretch, and the resident set
# is reported.
source "$(dirname "$0")/../lib.sh"

DB=$WORK/vigil.db
URL=$(free_tcp_url)
PAGES=2000 ROUNDS=10

coproc FAULTER { "$TBIN/faulter" --pages $PAGES --rounds $ROUNDS --seconds 60; }
read -r FPID <&"${FAULTER[0]}"
started $FPID

start_collector "$DB" "$URL" || { check "collector starts" false; exit 0; }
"$BIN/vigil-probe" --no-libvirt --collector "$URL" --pid faulter=$FPID >> "$WORK/probe.log" 2>&1 &
PROBE=$!; started $PROBE
wait_for '[ "$(stored "$DB" faulter "" count)" -gt 0 ] 2>/dev/null' 10

minflt() { awk '{ print $10 }' "/proc/$FPID/stat"; }
t0=$(now_ms); f0=$(minflt)
kill -USR1 $FPID
read -r -t 30 line <&"${FAULTER[0]}"
sleep 1.2
f1=$(minflt); t1=$(now_ms)
sleep 2.5 # the last interval is shipped and committed

# Each row holds a per-interval count for every (1 s) interval it spans.
stored=$(stored "$DB" faulter mem.minor_faults --ends-after $t0 total)
proc=$((f1 - f0))
echo "  minor faults: /proc $proc, stored $stored (the helper touched $((PAGES * ROUNDS)) fresh pages)"
check "the helper faulted as asked" [ "$line" = done ]
check "stored minor faults match /proc within 2%" \
	awk -v a="$proc" -v b="${stored:-0}" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a >= '$((PAGES * ROUNDS))' && d <= a * 0.02) }'
rss=$(stored "$DB" faulter mem.rss_bytes latest)
proc_rss=$(( $(awk '{ print $2 }' "/proc/$FPID/statm") * $(getconf PAGESIZE) ))
echo "  resident: /proc ${proc_rss} bytes, stored ${rss:-none}"
check "resident set stored and close to /proc (within 10%)" \
	awk -v a="$proc_rss" -v b="${rss:-0}" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= a * 0.1) }'
check "no cgroup figure for a --pid target (its cgroup is shared)" \
	[ "$(stored "$DB" faulter mem.cgroup_bytes count)" = 0 ]
check "probe kept running" kill -0 $PROBE
