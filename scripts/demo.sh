#!/usr/bin/env bash
# Vigil's main job on this host: boots two tiny TCG VMs under libvirt (one
# busy 70% of the time, one 25%), runs a collector and a probe that monitors
# every libvirt VM of this host (and any --pid NAME=PID you add), and shows
# `vigilctl status` every 2 s.
#
#   make demo                                  # 60 s, then clean up
#   make demo DEMO_ARGS="--duration 120"
#   make demo DEMO_ARGS="--pid myqemu=1234"    # also watch an existing process
#   make demo DEMO_ARGS="--no-vms"             # two plain processes instead
#
# Ctrl-C stops it early. It removes only what it started: its VMs, the
# libvirt daemons if it had to start them, and its own processes.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/bin
DURATION=60
EXTRA=()
WITH_VMS=1

usage() {
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
	echo "Options: --duration SECONDS, --pid NAME=PID (repeatable), --libvirt URI, --no-vms"
}

LIBVIRT=qemu:///system
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=${2:?--duration needs seconds}; shift 2 ;;
	--pid) EXTRA+=(--pid "${2:?--pid needs NAME=PID}"); shift 2 ;;
	--libvirt) LIBVIRT=${2:?--libvirt needs a URI}; shift 2 ;;
	--no-vms) WITH_VMS=0; shift ;;
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
VM_PREFIX=vigil-demo-$$-
PIDS=()
source "$ROOT/scripts/vm/lib.sh"
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if [ $WITH_VMS = 1 ]; then
		vm_destroy_prefixed "$VM_PREFIX"
		vm_stop_libvirtd
		vm_remove_workdir
	fi
	echo "demo: stopped; database kept at build/demo/vigil.db, logs in build/demo/*.log"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

start_vms() {
	vm_setup_workdir "$ROOT/build/guest" || return 1
	vm_ensure_libvirtd || return 1
	echo "demo: booting ${VM_PREFIX}busy (70% CPU, 32 MiB disk write, 200 frames) and" \
		"${VM_PREFIX}light (25% CPU, 8 MiB, 50 frames) under TCG"
	vm_start "${VM_PREFIX}busy" 70 200 32 && vm_start "${VM_PREFIX}light" 25 50 8 || {
		echo "demo: starting the VMs failed; see $VM_WORK and /var/log/libvirt/qemu/" >&2
		return 1
	}
}

# Without VMs, two stand-ins: a CPU hog, and a "guest" with two vCPU threads
# named as QEMU names them under TCG, each busy 30% of the time.
start_stand_ins() {
	"$ROOT/build/tests/burn" --duty 100 --seconds "$DURATION" > /dev/null &
	PIDS+=($!)
	EXTRA+=(--pid demo-busy=$!)
	"$ROOT/build/tests/burn" --duty 30 --threads 2 --name-threads "CPU %d/TCG" --seconds "$DURATION" > /dev/null &
	PIDS+=($!)
	EXTRA+=(--pid demo-guest=$!)
}

if [ $WITH_VMS = 1 ]; then
	start_vms || exit 1
else
	start_stand_ins
fi

"$BIN/vigil-collector" --db "$WORK/vigil.db" --listen "$URL" > "$WORK/collector.log" 2>&1 &
PIDS+=($!)
"$BIN/vigil-probe" --collector "$URL" --libvirt "$LIBVIRT" \
	"${EXTRA[@]}" > "$WORK/probe.log" 2>&1 &
PIDS+=($!)

end=$((SECONDS + DURATION))
while [ $SECONDS -lt $end ]; do
	sleep 2
	clear 2>/dev/null || true
	left=$((end - SECONDS)); [ $left -lt 0 ] && left=0
	echo "Vigil demo: $left s left (Ctrl-C stops). vigilctl --collector $URL status"
	echo
	"$BIN/vigilctl" --collector "$URL" status
	echo
	echo "probe log:"
	tail -n 4 "$WORK/probe.log" | sed 's/^/  /'
done
