# vigilctl history, hosts, vms and show against a real collector, over nng
# and with --db: the same answers both ways, CSV and JSON forms, rollups
# at a step, and clear errors.
source "$(dirname "$0")/../lib.sh"

DB=$WORK/vigil.db
URL=ipc://$WORK/collector.sock
"$BIN/vigil-collector" --config /dev/null --db "$DB" --listen "$URL" >> "$WORK/collector.log" 2>&1 &
COLLECTOR_PID=$!; started $COLLECTOR_PID
wait_for "[ -S '$WORK/collector.sock' ]" 10
# 600 one-second batches of 3 VMs ending about a minute ago.
"$TBIN/ack_sender" "$URL" hv-q 600 3 > "$WORK/sent" || { check "the sender was acknowledged" false; exit 0; }

ctl() { "$BIN/vigilctl" --collector "$URL" "$@"; }
ctldb() { "$BIN/vigilctl" --db "$DB" "$@"; }

ctl history vm1 disk.write_bytes --since -1h --json > "$WORK/nng.json"
ctldb history vm1 disk.write_bytes --since -1h --json > "$WORK/db.json"
check "history over nng and with --db agree" diff -q "$WORK/nng.json" "$WORK/db.json"
check "history returns the raw tier's intervals" [ "$(jq -r .tier "$WORK/nng.json")" = raw ]
total=$(jq '[.rows[].total] | add' "$WORK/nng.json")
check "the intervals' totals add up to what was sent" \
	[ "$total" = "$(awk '$2 == "vm1" { print $3 }' "$WORK/sent")" ]
check "rows carry the design's record: times, origin, layer, metric, tags, value" \
	[ "$(jq -c '.rows[0] | [has("t_start", "t_end", "host", "layer", "metric", "tags", "value")] | all' "$WORK/nng.json")" = true ]
check "rows are in time order and do not overlap" [ "$(jq '[.rows as $r | range(1; $r | length) |
	select($r[.].t_start_ms < $r[. - 1].t_end_ms)] | length' "$WORK/nng.json")" = 0 ]

ctl history vm1 disk.write_bytes --since -1h --csv > "$WORK/h.csv"
check "CSV has a header" [ "$(head -1 "$WORK/h.csv" | cut -d, -f1-5)" = host,vm,vm_uuid,layer,metric ]
check "CSV has one line per interval" [ $(($(wc -l < "$WORK/h.csv") - 1)) = "$(jq '.rows | length' "$WORK/nng.json")" ]

ctl history vm1 disk.write_bytes --since -1h --step 1m --json > "$WORK/step.json"
check "--step 1m returns minute rollups" [ "$(jq -r '.tier + " " + (.step_ms | tostring)' "$WORK/step.json")" = "1m 60000" ]
check "the minute sums add up to the same total" [ "$(jq '[.rows[].sum] | add' "$WORK/step.json")" = "$total" ]
check "a 1h step reads the hour tier" [ "$(ctl history vm1 cpu.used_pct --since -1h --step 1h --json | jq -r .tier)" = 1h ]
check "--tag selects the series that carries it" \
	[ "$(ctl history vm1 disk.write_bytes --tag dev=vda --json | jq '.rows | length')" -gt 0 ]
check "--tag of a series that does not exist selects nothing" \
	[ "$(ctl history vm1 disk.write_bytes --tag dev=vdb --json | jq '.rows | length')" = 0 ]

ctl show vm2 --json > "$WORK/show.json"
# The probe's readings, and the SLA checks' own (layer sla) beside them.
check "show lists every current metric" \
	[ "$(jq -r '[.current[] | select(.layer != "sla") | .metric] | sort | join(" ")' "$WORK/show.json")" = "cpu.used_pct disk.write_bytes" ]
check "show gives each current reading as an open interval with its start" \
	[ "$(jq '[.current[] | select(.open and .t_start_ms <= .t_end_ms)] | length' "$WORK/show.json")" = \
		"$(jq '.current | length' "$WORK/show.json")" ]
check "show includes the SLA checks' current readings" \
	[ "$(jq -r '[.current[] | select(.layer == "sla") | .metric] | sort | join(" ")' "$WORK/show.json")" = \
		"sla.bandwidth sla.host sla.p_violation sla.processing sla.storage" ]
check "show with --db agrees" [ "$(ctldb show vm2 --json | jq -c .current)" = "$(jq -c .current "$WORK/show.json")" ]
check "hosts lists the sender's host" [ "$(ctl hosts --json | jq -r '.hosts[] | "\(.host) \(.vms) \(.last_seq)"')" = "hv-q 3 600" ]
check "vms --host lists its VMs" [ "$(ctl vms --host hv-q --json | jq -r '[.vms[].vm] | join(" ")')" = "vm0 vm1 vm2" ]
check "vms --host of an unknown host is empty" [ "$(ctl vms --host nowhere --json | jq '.vms | length')" = 0 ]

# The other tests' reader (tests/lib.sh's stored, vigilctl --db underneath).
t0=$(jq '.rows[0].t_start_ms' "$WORK/nng.json"); t1=$(jq '.rows[-1].t_end_ms' "$WORK/nng.json")
check "the tests' stored helper sees the same rows" \
	[ "$(stored "$DB" vm1 disk.write_bytes --ends-after $((t0 - 1)) count)" = "$(jq '.rows | length' "$WORK/nng.json")" ]
ctl history vm1 cpu.used_pct --since -1h --json > "$WORK/cpu.json"
expected=$(jq --argjson t0 "$t0" --argjson t1 "$t1" '[.rows[] | select(.t_end_ms > $t0 and .t_start_ms < $t1) |
	{d: ((if .t_end_ms < $t1 then .t_end_ms else $t1 end) - (if .t_start_ms > $t0 then .t_start_ms else $t0 end)),
	 v: .value}] | (map(.v * .d) | add) / (map(.d) | add) * 100 | round / 100' "$WORK/cpu.json")
echo "  stored mean $(stored_mean "$DB" vm1 cpu.used_pct "" "$t0" "$t1"), expected $expected"
check "stored_mean reads them" cmp "$(stored_mean "$DB" vm1 cpu.used_pct '' "$t0" "$t1")" == "$expected"

exit_code() { "$@" > "$WORK/out" 2> "$WORK/err"; echo $?; }
check "show of an unknown VM exits 1" [ "$(exit_code ctl show nosuch)" = 1 ]
check "and says so" grep -q "no VM named 'nosuch'" "$WORK/err"
check "history with a bad time exits 2" [ "$(exit_code ctl history vm1 --since yesterday)" = 2 ]
check "and names the accepted forms" grep -q "ISO 8601" "$WORK/err"
check "history without a VM exits 2" [ "$(exit_code ctl history)" = 2 ]
check "history --db of a missing file exits 1" [ "$(exit_code "$BIN/vigilctl" --db "$WORK/none.db" history vm1)" = 1 ]
