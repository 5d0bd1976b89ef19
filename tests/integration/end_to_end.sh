# Collector and probe as separate processes over tcp on loopback with a real
# SQLite file: vigilctl shows both targets, a probe outage leaves an explicit
# gap, and a repeated probe start does not duplicate anything.
source "$(dirname "$0")/../lib.sh"

DB=$WORK/vigil.db
# A socket in the test's own directory, so parallel runs never collide.
URL=ipc://$WORK/collector.sock

"$TBIN/burn" --duty 100 --seconds 120 > /dev/null &
BUSY=$!; started $BUSY
# Two threads named like TCG vCPUs at 40% each; the main thread only waits.
"$TBIN/burn" --duty 40 --threads 2 --name-threads "CPU %d/TCG" --seconds 120 > /dev/null &
VM=$!; started $VM

start_probe() {
	"$BIN/vigil-probe" --no-libvirt --host hv-main --collector "$URL" --pid busy=$BUSY --pid tcgvm=$VM \
		>> "$WORK/probe.log" 2>&1 &
	PROBE=$!; started $PROBE
}
# The probe starts first: its batches wait in memory until the collector is up.
probe_start=$(now_ms)
start_probe
sleep 3
start_collector "$DB" "$URL" || { check "collector starts" false; exit 0; }
collector_start=$(now_ms)
sleep 4
# Stored rows as JSON (vigilctl history --db reads segments and journal).
hist() { # VM [METRIC]
	"$BIN/vigilctl" --db "$DB" history "$@" --since @0 --json
}
first_busy=$(hist busy | jq '[.rows[].t_start_ms] | min')
# The first stored interval began after the probe started and well before
# the collector did.
sampled_while_collector_down() {
	[ "$first_busy" -ge "$probe_start" ] && [ "$first_busy" -lt $((collector_start - 1500)) ]
}
check "batches sampled before the collector started are delivered" sampled_while_collector_down

"$BIN/vigilctl" --collector "$URL" status --json > "$WORK/status.json"
"$BIN/vigilctl" --collector "$URL" status
field() { jq -r --arg vm "$1" ".vms[] | select(.vm == \$vm) | .$2" "$WORK/status.json"; }
check "status --json lists both targets" [ "$(jq '.vms | length' "$WORK/status.json")" = 2 ]
# Plausible, not exact: cpu_accuracy.sh holds the figures to 3 points.
# A spinning process is always runnable: on-CPU plus run-queue wait is about
# 100% however loaded the host is.
check "busy target has plausible CPU % (on-CPU 5-105, on-CPU + wait 85-110)" \
	awk -v v="$(field busy cpu_used_pct)" -v w="$(field busy cpu_wait_pct)" \
	'BEGIN { exit !(v > 5 && v < 105 && v + w > 85 && v + w < 110) }'
check "vCPU target has plausible CPU % (25-110)" \
	awk -v v="$(field tcgvm cpu_used_pct)" 'BEGIN { exit !(v > 25 && v < 110) }'
check "vCPU threads named 'CPU N/TCG' are counted as vCPUs" [ "$(field tcgvm vcpus)" = 2 ]
check "both targets are running" [ "$(field busy state)$(field tcgvm state)" = runningrunning ]
canonical_tags='.tags | to_entries | map("\(.key)=\(.value)") | join(",")'
check "whole-VM, per-vCPU and emulator series are stored" \
	[ "$(hist tcgvm cpu.used_pct | jq -r "[.rows[] | $canonical_tags] | unique | join(\" \")")" = " thread=emulator vcpu=0 vcpu=1" ]

# A second probe (another host name) shares the collector.
"$BIN/vigil-probe" --no-libvirt --host other-hv --collector "$URL" --pid busy=$BUSY \
	>> "$WORK/probe2.log" 2>&1 &
PROBE2=$!; started $PROBE2
sleep 3
check "a second probe is served at the same time" [ "$("$BIN/vigilctl" --collector "$URL" status --json |
	jq -c '[.vms[] | select(.state == "running") | .host] | unique')" = '["hv-main","other-hv"]' ]
kill $PROBE2; wait $PROBE2 2>/dev/null

"$BIN/vigilctl" --db "$DB" status --json > "$WORK/status-db.json"
check "status --db reads the same VMs" [ "$(jq -c '[.vms[] | select(.host != "other-hv") | .vm]' "$WORK/status-db.json")" = '["busy","tcgvm"]' ]

# The emulator thread of tcgvm is idle: its 0% readings coalesce into one row.
emu_rows() {
	hist tcgvm cpu.used_pct --tag thread=emulator | jq '.rows | length'
}
check "identical consecutive readings coalesce into one row" [ "$(emu_rows)" = 1 ]

# Outage: stop the probe for 4 s, start it again.
kill $PROBE; wait $PROBE 2>/dev/null
gap_start=$(now_ms)
sleep 4
gap_end=$(now_ms)
start_probe
sleep 4
echo "  emulator rows after the outage: $(emu_rows)"
hist tcgvm cpu.used_pct --tag thread=emulator | jq -r '.rows[] | "    \(.t_start_ms) \(.t_end_ms) \(.value) gap=\(.gap)"'
check "the outage starts a new interval" [ "$(emu_rows)" = 2 ]
check "the new interval is marked as starting after a gap" \
	[ "$(hist tcgvm cpu.used_pct --tag thread=emulator | jq '.rows[-1].gap')" = true ]
# Readings only: the SLA checks' own rows (layer sla) record the silence as
# HOST DOWN, so they do span it.
check "no stored interval spans the outage" [ "$(hist tcgvm | jq \
	"[.rows[] | select(.layer != \"sla\" and .t_start_ms < $((gap_start + 500)) and .t_end_ms > $((gap_end - 500)))] | length")" = 0 ]
echo "  outage $gap_start..$gap_end; sla.host rows:"
hist tcgvm sla.host | jq -r '.rows[] | "    \(.t_start_ms) \(.t_end_ms) \(.value)"'
check "the SLA checks recorded the silence as HOST DOWN" [ "$(hist tcgvm sla.host | jq \
	"[.rows[] | select(.value == 1 and .t_start_ms < $((gap_start + 500)) and .t_end_ms > $((gap_end - 1500)))] | length")" = 1 ]
check "the new interval starts after the outage" [ "$(hist tcgvm cpu.used_pct --tag thread=emulator | jq \
	"[.rows[].t_start_ms] | max >= $gap_end")" = true ]
check "sequence numbers kept increasing across the restart" [ "$("$BIN/vigilctl" --db "$DB" hosts --json | jq \
	'.hosts[] | select(.host == "hv-main") | .last_seq > 0')" = true ]
stored_metrics=$(for uuid in $("$BIN/vigilctl" --db "$DB" vms --json | jq -r '.vms[].uuid'); do
	hist "$uuid" | jq -r '.rows[].metric'; done | sort -u)
catalogued=$("$BIN/vigilctl" metrics --json | jq -r '.[].name' | sort)
# Some metrics are stored, and none is missing from the catalogue.
all_catalogued() {
	[ -n "$stored_metrics" ] && [ -z "$(comm -23 <(echo "$stored_metrics") <(echo "$catalogued"))" ]
}
check "every stored metric is in the catalogue (vigilctl metrics)" all_catalogued
check "stored metrics carry the catalogue's unit" [ "$(hist busy cpu.used_pct | jq \
	'[.rows[] | select(.unit != "%")] | length')" = 0 ]
check "no batch was rejected" bash -c "! grep -q 'rejected' '$WORK/collector.log'"
check "VM identity is stable across probe restarts" [ "$("$BIN/vigilctl" --db "$DB" vms --host hv-main --json | jq \
	'[.vms[] | select(.source != "host")] | length')" = 2 ]
