#!/usr/bin/env bash
# The interval store's ingest rate and size on disk, end to end: starts a
# collector on a fresh database in a temporary directory, sends a synthetic
# trace with bench/store_load.c (concurrent probes over nng, each waiting
# for its acknowledgement), stops the collector (which flushes and
# checkpoints) and reports bytes per sample of the database file.
#   bench/store_load.sh [store_load options]    e.g. --hosts 10 --vms 100 --intervals 3600
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/vigil-store-load.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
"$ROOT/build/bin/vigil-collector" --config /dev/null --db "$WORK/v.db" --listen "ipc://$WORK/c.sock" \
	--log-level info ${COLLECTOR_ARGS:-} > "$WORK/collector.log" 2>&1 &
COLLECTOR=$!
for _ in $(seq 50); do [ -S "$WORK/c.sock" ] && break; sleep 0.1; done
out=$("$ROOT/build/bench/store_load" --url "ipc://$WORK/c.sock" "$@")
rc=$?
echo "$out"
echo "collector_peak_rss_kb $(awk '/VmHWM/ { print $2 }' "/proc/$COLLECTOR/status")"
kill "$COLLECTOR"
wait "$COLLECTOR"
samples=$(sed -n 's/^samples \([0-9]*\) .*/\1/p' <<< "$out")
bytes=$(( $(stat -c %s "$WORK/v.db") + $(stat -c %s "$WORK/v.db-wal" 2>/dev/null || echo 0) ))
awk -v b="$bytes" -v s="${samples:-0}" 'BEGIN { printf "db_bytes %d bytes_per_sample %.3f\n", b, s ? b / s : 0 }'
if [ -n "${KEEP_DB:-}" ]; then cp "$WORK/v.db" "$KEEP_DB"; fi
grep -v '^$' "$WORK/collector.log" | tail -5
exit $rc
