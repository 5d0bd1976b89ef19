# The hypervisor's own entry: heartbeat, VM count, host CPU and memory, the
# probe's own CPU and memory, and the BPF programs' run time while bpf_stats
# are on. It is stored like a VM (source 'host') but not listed as one.
source "$(dirname "$0")/../lib.sh"

DB=$WORK/vigil.db
URL=$(free_tcp_url)

"$TBIN/burn" --duty 50 --seconds 60 > /dev/null & BURN=$!; started $BURN
sleep 30 & IDLE=$!; started $IDLE
start_collector "$DB" "$URL" || { check "collector starts" false; exit 0; }
# bpf_stats on for as long as the helper runs (it holds BPF_ENABLE_STATS's
# file descriptor): nothing to restore, and another run turning the sysctl
# kernel.bpf_stats_enabled off meanwhile does not turn them off.
coproc STATS { exec "$TBIN/bpf_stats_on"; }
started $STATS_PID
read -r -t 5 stats_ready <&"${STATS[0]}"
require "bpf_stats turned on (BPF_ENABLE_STATS)" [ "${stats_ready:-}" = ready ]
"$BIN/vigil-probe" --no-libvirt --host hv-host --collector "$URL" --pid burner=$BURN --pid idler=$IDLE \
	>> "$WORK/probe.log" 2>&1 &
PROBE=$!; started $PROBE
sleep 5

host_q() { stored "$DB" hv-host "$2" "$1"; }
latest() { host_q latest "$1"; }
check "the host entry is stored with source 'host'" [ "$("$BIN/vigilctl" --db "$DB" vms --json |
	jq -r '.vms[] | select(.vm == "hv-host") | .source')" = host ]
check "heartbeat: host.up is one coalesced row of 1" [ "$(host_q count host.up):$(host_q max host.up)" = "1:1" ]
check "host.vms counts the two targets" [ "$(latest host.vms)" = 2 ]
check "host CPU % is between the burner's share and 100" \
	awk -v v="$(latest host.cpu_pct)" 'BEGIN { exit !(v >= 20 && v <= 100) }'
total=$(latest host.mem_total_bytes)
check "host memory total matches /proc/meminfo" \
	[ "$total" = "$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024 ))" ]
check "host memory used is below the total" awk -v u="$(latest host.mem_used_bytes)" -v t="$total" 'BEGIN { exit !(u > 0 && u < t) }'
check "the probe's own CPU and memory are reported" \
	awk -v c="$(latest probe.cpu_pct)" -v r="$(latest probe.rss_bytes)" 'BEGIN { exit !(c >= 0 && c < 50 && r > 1e6) }'
check "BPF run time reported for the sched_switch program while bpf_stats are on" \
	[ "$(stored "$DB" hv-host probe.bpf_run_ns --tags-prefix prog=vigil_sched_sw --value-gt 0 count)" -gt 0 ]
"$BIN/vigilctl" --collector "$URL" status --json > "$WORK/status.json"
check "status lists the VMs, not the host entry" \
	[ "$(jq -r '[.vms[].vm] | sort | join(",")' "$WORK/status.json")" = "burner,idler" ]
check "probe kept running" kill -0 $PROBE
