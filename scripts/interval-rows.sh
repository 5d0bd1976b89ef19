#!/usr/bin/env bash
# Rebuilds schema version 2's interval_rows (one row per interval: host, vm,
# vm_uuid, layer, metric, tags, unit, kind, value, t_start, t_end in Unix ms,
# plus samples, total, gap, reset, open) as a plain table in a separate
# SQLite file, from an interval store database, for ad-hoc SQL:
#   scripts/interval-rows.sh vigil.db rows.db [VIGILCTL]
#   sqlite3 rows.db "SELECT metric, count(*) FROM interval_rows GROUP BY 1"
# It reads through `vigilctl --db history --csv`, the store's read path.
set -euo pipefail
db=$1
out=$2
ctl=${3:-vigilctl}
csv=$(mktemp "${out}.XXXXXX")
trap 'rm -f "$csv"' EXIT
for uuid in $("$ctl" --db "$db" vms --json | jq -r '.vms[].uuid'); do
	"$ctl" --db "$db" history "$uuid" --since @0 --csv | tail -n +2
done > "$csv"
rm -f "$out"
sqlite3 "$out" \
	"CREATE TABLE interval_rows (host TEXT, vm TEXT, vm_uuid TEXT, layer TEXT, metric TEXT, tags TEXT, unit TEXT,
	   kind TEXT, t_start_iso TEXT, t_end_iso TEXT, t_start INTEGER, t_end INTEGER, value REAL, samples INTEGER,
	   total REAL, gap INTEGER, reset INTEGER, open INTEGER)" \
	".import --csv $csv interval_rows"
