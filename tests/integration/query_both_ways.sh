# Every vigilctl query both ways: through a running collector (over nng)
# and with --db on the same database (the query dispatcher in process),
# with --json, and the answers compared. The collector is fed real batches
# by ack_sender (three VMs whose CPU cycles through 0, 12.5, 25 and 37.5%),
# with SLA checks whose PROCESSING threshold makes every busy spell an
# alert, so there are alerts, sla.* rows, explanations and availability to
# compare. Also: vigilctl links the read side only, errors read the same
# both ways, and the one time grammar works in every command.
source "$(dirname "$0")/../lib.sh"

DB=$WORK/vigil.db
URL=ipc://$WORK/collector.sock

check "vigilctl links no writer, engine, compaction, server or hook code" \
	bash "$ROOT/scripts/check-vigilctl-links.sh" "$BIN/vigilctl"

cp "$ROOT/tests/data/sla-small.net" "$WORK/model.net"
# stale_after is as long as it goes (1000 intervals), so once the sender
# is done nothing changes in the database while the test compares.
cat > "$WORK/collector.conf" <<EOF
listen = "$URL";
db = "$DB";
sla = {
  model = "$WORK/model.net";
  alert_after = 2;
  clear_after = 2;
  stale_after = 1000;
  thresholds = (
    { node = "PROCESSING"; metric = "cpu.used_pct"; warning = 15; critical = 30; }
  );
};
EOF
"$BIN/vigil-collector" --config "$WORK/collector.conf" >> "$WORK/collector.log" 2>&1 &
started $!
wait_for "'$BIN/vigilctl' --collector '$URL' --timeout 500 status >/dev/null 2>&1" 10 ||
	{ check "the collector starts" false; exit 0; }
# 300 one-second batches of 3 VMs, ending about a minute ago.
"$TBIN/ack_sender" "$URL" hv-both 300 3 > "$WORK/sent" || { check "the sender was acknowledged" false; exit 0; }
# The SLA readings follow each batch into the next group commit.
sleep 1
# One window for every command, so both ways ask the same question.
SINCE=$(( $(date +%s) - 3600 ))
UNTIL=$(date +%s)

# both NAME FILTER ARGS...: vigilctl ARGS through the collector and with
# --db; both must succeed, and their output, normalised by the jq FILTER,
# must be the same. Kept as $WORK/NAME.{nng,db}.json.
both() {
	local name=$1 filter=$2
	shift 2
	"$BIN/vigilctl" --collector "$URL" "$@" > "$WORK/$name.nng.out" || return 1
	"$BIN/vigilctl" --db "$DB" "$@" > "$WORK/$name.db.out" || return 1
	jq -S "$filter" "$WORK/$name.nng.out" > "$WORK/$name.nng.json" || return 1
	jq -S "$filter" "$WORK/$name.db.out" > "$WORK/$name.db.json" || return 1
	diff -u "$WORK/$name.nng.json" "$WORK/$name.db.json"
}

# What is normalised, and why:
#  - now_ms (status, hosts, vms, show): each answer's own clock, taken when
#    it was answered;
#  - sla explain: the collector answers from its live engine, which knows
#    the reading behind each state (an evidence entry's metric, tags,
#    value and threshold) and says live: true; --db has only the stored
#    sla.* rows, so those fields are dropped; and --db names its model as
#    "FILE (as recorded by the collector)", where the collector says FILE.
NOW='del(.now_ms)'
EXPLAIN='del(.live) | .evidence |= map({node, state}) | .model |= sub(" [(]as recorded by the collector[)]$"; "")'

# holds FILTER FILE: the jq FILTER is true of FILE.
holds() { jq -e "$1" "$2" > /dev/null; }

check "status agrees" both status "$NOW" status --json
check "status lists the three VMs" holds '.vms | length == 3' "$WORK/status.db.json"
check "history (raw) agrees" both history "." history vm1 --since "@$SINCE" --until "@$UNTIL" --json
check "history has intervals" holds '.tier == "raw" and (.rows | length) > 10' "$WORK/history.db.json"
check "history of one metric and tag agrees" both history-tag "." \
	history vm1 disk.write_bytes --tag dev=vda --since "@$SINCE" --until "@$UNTIL" --json
check "history --step 1m agrees" both history-step "." \
	history vm1 cpu.used_pct --since "@$SINCE" --until "@$UNTIL" --step 1m --json
check "history --step returns minute rollups" holds '.step_ms == 60000 and (.rows | length) > 3' \
	"$WORK/history-step.db.json"
check "history of the SLA rows agrees" both history-sla "." \
	history vm1 sla.p_violation --since "@$SINCE" --until "@$UNTIL" --json
check "hosts agrees" both hosts "$NOW" hosts --json
check "vms agrees" both vms "$NOW" vms --json
check "vms --host agrees" both vms-host "$NOW" vms --host hv-both --json
check "show agrees" both show "$NOW" show vm2 --json
check "show includes the SLA rows" holds '[.current[] | select(.layer == "sla")] | length >= 3' "$WORK/show.db.json"
check "alerts agrees" both alerts "." alerts --json
check "there are alerts, each VM's last one open" \
	holds '(.alerts | length) > 3 and ([.alerts[] | select(.open)] | length) == 3' "$WORK/alerts.db.json"
check "alerts --open --vm agrees" both alerts-open "." alerts --open --vm vm1 --json
check "alerts --since agrees" both alerts-since "." alerts --since "@$((UNTIL - 240))" --json
check "sla explain agrees" both explain "$EXPLAIN" sla explain vm1 --json
check "explain through the collector is live" holds '.live' "$WORK/explain.nng.out"
check "explain --db reads the stored rows and the recorded model" \
	holds '(.live | not) and (.model | endswith("model.net (as recorded by the collector)"))' "$WORK/explain.db.out"
check "explain names the open alert" holds '.open_alert.open' "$WORK/explain.db.json"

# --db with --model FILE explains with that file, as the collector does.
explain_with_model() {
	"$BIN/vigilctl" --db "$DB" sla explain vm1 --model "$WORK/model.net" --json > "$WORK/explain-model.out" ||
		return 1
	jq -e --arg file "$WORK/model.net" '.model == $file' "$WORK/explain-model.out" > /dev/null || return 1
	diff <(jq -S "$EXPLAIN" "$WORK/explain-model.out") "$WORK/explain.nng.json"
}
check "explain --db --model FILE agrees with the collector's" explain_with_model
check "availability agrees" both availability "." availability vm1 --window 1h --target 99.9 --json
check "availability covers the evaluations" holds '.uptime_ms > 200000' "$WORK/availability.db.json"

# sla train --from-history reads its rows the same way both ways.
train() { # WAY DIR
	mkdir -p "$WORK/$2"
	"$BIN/vigilctl" "$1" "$([ "$1" = --db ] && echo "$DB" || echo "$URL")" sla train --from-history \
		--since "@$SINCE" --until "@$UNTIL" --slice 5s --model "$WORK/model.net" \
		--slo 'HOST=DOWN || cpu.used_pct > 30' --save-cases "$WORK/$2/cases.csv" --out "$WORK/$2/learned.net" \
		--json > "$WORK/$2/report.json"
}
train_both() {
	train --collector train-nng || return 1
	train --db train-db || return 1
	diff "$WORK/train-nng/cases.csv" "$WORK/train-db/cases.csv" || return 1
	diff <(jq -S 'del(.out)' "$WORK/train-nng/report.json") <(jq -S 'del(.out)' "$WORK/train-db/report.json")
}
check "sla train --from-history builds the same cases and model both ways" train_both
check "the cases have violations" grep -q VIOLATED "$WORK/train-db/cases.csv"

# One set of error messages: a failure reads the same both ways.
same_error() { # ARGS...
	"$BIN/vigilctl" --collector "$URL" "$@" > /dev/null 2> "$WORK/err.nng"
	local nng=$?
	"$BIN/vigilctl" --db "$DB" "$@" > /dev/null 2> "$WORK/err.db"
	local db=$?
	[ "$nng" = 1 ] && [ "$db" = 1 ] && [ -s "$WORK/err.db" ] && diff "$WORK/err.nng" "$WORK/err.db"
}
check "show of an unknown VM fails the same way both ways" same_error show nosuch
check "explain of an unknown VM fails the same way both ways" same_error sla explain nosuch
check "availability of an unknown VM fails the same way both ways" same_error availability nosuch

exit_code() { "$@" > /dev/null 2> "$WORK/err"; echo $?; }
check "explain --model through the collector is a usage error" \
	[ "$(exit_code "$BIN/vigilctl" --collector "$URL" sla explain vm1 --model "$WORK/model.net")" = 2 ]

# The one time grammar, in commands that used to read times differently.
check "alerts --since takes a time ago with a minus" both alerts-minus "." alerts --since -2h --json
check "history --since takes a decimal duration" both history-decimal "." history vm0 cpu.used_pct --since 1.5h --json
check "availability --window takes a compound duration" both availability-compound "." \
	availability vm0 --window 1h30min --json
check "a bare small number is refused as ambiguous" \
	[ "$(exit_code "$BIN/vigilctl" --db "$DB" alerts --since 2026)" = 2 ]
check "and the message says how to write either" grep -q "ambiguous" "$WORK/err"
