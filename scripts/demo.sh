#!/usr/bin/env bash
# Vigil's main job on this host: a collector, a probe that monitors this
# host's libvirt VMs plus two demo workloads (and any --pid NAME=PID you
# add), and `vigilctl status` refreshed every 2 s.
#
#   make demo                                  # 30 s, then clean up
#   make demo DEMO_ARGS="--duration 120"
#   make demo DEMO_ARGS="--pid myqemu=1234"    # also watch an existing process
#
# Ctrl-C stops it early. It removes only what it started.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/bin
DURATION=30
EXTRA=()

usage() {
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
	echo "Options: --duration SECONDS, --pid NAME=PID (repeatable), --libvirt URI"
}

LIBVIRT=qemu:///system
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=${2:?--duration needs seconds}; shift 2 ;;
	--pid) EXTRA+=(--pid "${2:?--pid needs NAME=PID}"); shift 2 ;;
	--libvirt) LIBVIRT=${2:?--libvirt needs a URI}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "demo: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
case $DURATION in ''|*[!0-9]*) echo "demo: --duration wants whole seconds" >&2; exit 2 ;; esac

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: loading the BPF programs needs root; run: sudo make demo" >&2
	exit 1
fi

WORK=$ROOT/build/demo
mkdir -p "$WORK"
rm -f "$WORK"/vigil.db*
URL=ipc://$WORK/collector.sock
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	echo "demo: stopped; database kept at build/demo/vigil.db, logs in build/demo/*.log"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# Two stand-ins for VMs: a CPU hog, and a "guest" with two vCPU threads
# named as QEMU names them under TCG, each busy 30% of the time.
"$ROOT/build/tests/burn" --duty 100 --seconds "$DURATION" > /dev/null &
PIDS+=($!); BUSY=$!
"$ROOT/build/tests/burn" --duty 30 --threads 2 --name-threads "CPU %d/TCG" --seconds "$DURATION" > /dev/null &
PIDS+=($!); GUEST=$!

"$BIN/vigil-collector" --db "$WORK/vigil.db" --listen "$URL" > "$WORK/collector.log" 2>&1 &
PIDS+=($!)
"$BIN/vigil-probe" --collector "$URL" --libvirt "$LIBVIRT" \
	--pid demo-busy=$BUSY --pid demo-guest=$GUEST "${EXTRA[@]}" > "$WORK/probe.log" 2>&1 &
PIDS+=($!)

end=$((SECONDS + DURATION))
while [ $SECONDS -lt $end ]; do
	sleep 2
	clear 2>/dev/null || true
	echo "Vigil demo: $((end - SECONDS)) s left (Ctrl-C stops). vigilctl --collector $URL status"
	echo
	"$BIN/vigilctl" --collector "$URL" status
	echo
	echo "probe log:"
	tail -n 4 "$WORK/probe.log" | sed 's/^/  /'
done
