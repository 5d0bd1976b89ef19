# Exactly once across crashes: a sender streams batches to a collector that
# is killed with SIGKILL twice mid-stream and restarted on the same database.
# Every acknowledged batch must be stored, and none twice: each VM's stored
# counter total equals what was sent, and its samples add up to the batches.
source "$(dirname "$0")/../lib.sh"

DB=$WORK/vigil.db
URL=ipc://$WORK/collector.sock
BATCHES=1500
VMS=20

start_store_collector() {
	"$BIN/vigil-collector" --config /dev/null --db "$DB" --listen "$URL" >> "$WORK/collector.log" 2>&1 &
	COLLECTOR_PID=$!
	started $COLLECTOR_PID
}

acked_so_far() { # the host's last stored sequence number, read from the file
	local n
	n=$("$BIN/vigilctl" --db "$DB" hosts --json 2>/dev/null | jq '.hosts[0].last_seq // 0')
	echo "${n:-0}"
}

start_store_collector
"$TBIN/ack_sender" "$URL" hv-crash $BATCHES $VMS 2 > "$WORK/sent" 2> "$WORK/sender.err" &
SENDER=$!; started $SENDER

for round in 1 2; do
	target=$((round * BATCHES / 3))
	if ! wait_for "[ \$(acked_so_far) -ge $target ]" 60; then
		check "the stream reached batch $target before crash $round" false
		exit 0
	fi
	kill -9 $COLLECTOR_PID
	wait $COLLECTOR_PID 2>/dev/null
	echo "  collector killed with SIGKILL after batch $(acked_so_far)"
	sleep 0.5
	start_store_collector
done

wait_for "! kill -0 $SENDER 2>/dev/null" 120
wait $SENDER
check "the sender had every batch acknowledged across two SIGKILLs" grep -q "^acked $BATCHES\$" "$WORK/sent"
check "the collector recovered from its journal" grep -q "database .* ready" "$WORK/collector.log"
check "the host's last stored sequence is the last batch" [ "$(acked_so_far)" = $BATCHES ]

bad=0
for v in $(seq 0 $((VMS - 1))); do
	sent=$(awk -v vm="vm$v" '$1 == "total" && $2 == vm { print $3 }' "$WORK/sent")
	"$BIN/vigilctl" --db "$DB" history "vm$v" disk.write_bytes --since @0 --json > "$WORK/rows.json"
	stored=$(jq '[.rows[].total] | add' "$WORK/rows.json")
	samples=$(jq '[.rows[].samples] | add' "$WORK/rows.json")
	if [ "$stored" != "$sent" ] || [ "$samples" != $BATCHES ]; then
		echo "  vm$v: sent $sent in $BATCHES batches, stored $stored in $samples samples"
		bad=$((bad + 1))
	fi
done
check "every VM's stored total equals what was sent, each batch once" [ $bad = 0 ]
check "no interval overlaps the next (nothing stored twice)" [ "$("$BIN/vigilctl" --db "$DB" history vm0 \
	disk.write_bytes --since @0 --json | jq '[.rows as $r | range(1; $r | length) |
	select($r[.].t_start_ms < $r[. - 1].t_end_ms)] | length')" = 0 ]
