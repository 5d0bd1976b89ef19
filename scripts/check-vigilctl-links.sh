#!/usr/bin/env bash
# vigilctl is a pure reader: it links common, the store's read side, sla and
# query only. Fails (exit 1, naming them) when the binary defines symbols
# of the store's writer thread, engine or compaction, of the server, of the
# SLA hook runner or the live engine.
#   scripts/check-vigilctl-links.sh [PATH_TO_VIGILCTL]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/bin/vigilctl}

if [ ! -x "$BIN" ]; then
	echo "check-vigilctl-links: $BIN is not built (make build/bin/vigilctl)" >&2
	exit 2
fi
if ! syms=$(nm "$BIN"); then
	echo "check-vigilctl-links: nm $BIN failed" >&2
	exit 2
fi
bad=$(grep -E ' [TtDdBb] ' <<< "$syms" |
	grep -iE 'engine_|compact|writer|store_submit|store_batch|server_|sla_hook|sla_engine')
if [ -n "$bad" ]; then
	echo "check-vigilctl-links: $BIN links code beyond the read side:"
	sed 's/^/  /' <<< "$bad"
	exit 1
fi
echo "check-vigilctl-links: $BIN links no writer, engine, compaction, server or hook code"
