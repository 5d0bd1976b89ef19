# Real libvirt VMs, end to end: two TCG guests with different CPU loads are
# found through libvirt, their CPU is stored within 3 points of libvirt's own
# cpu.time, a third VM started mid-run appears within 2 intervals, and a
# destroyed VM stops being sampled with its intervals closed. Each of QEMU's
# three disk modes (thread pool with cache=none, cache=writeback, io_uring)
# has a guest that writes its disk, counted exactly.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/scripts/vm/lib.sh"

DB=$WORK/vigil.db
URL=$(free_tcp_url)
WINDOW=6
PREFIX=vigil-test-$$-
VM_A=${PREFIX}a VM_B=${PREFIX}b VM_C=${PREFIX}c VM_D=${PREFIX}d

vm_cleanup() {
	vm_destroy_prefixed "$PREFIX"
	cleanup
	vm_stop_libvirtd
	vm_remove_workdir
}
trap vm_cleanup EXIT

if [ ! -s "$ROOT/build/guest/initrd.img" ]; then
	check "test guest is built (make guest)" false
	exit 0
fi
vm_setup_workdir "$ROOT/build/guest" || { check "VM work directory" false; exit 0; }
require "libvirtd reachable (started if needed)" vm_ensure_libvirtd

GUEST_FRAMES=100 HOST_FRAMES=70 DISK_MB=24
check "VM $VM_A (60% CPU, sends $GUEST_FRAMES frames, writes $DISK_MB MiB) starts" \
	vm_start "$VM_A" 60 $GUEST_FRAMES $DISK_MB
# The tap's own IPv6 (link-local, router solicitations) would add frames
# towards the guest; off, the only traffic is the test's raw frames.
TAP_A=$(virsh -c "$VM_URI" domiflist "$VM_A" | awk 'NR > 2 && $1 != "" { print $1; exit }')
MAC_A=$(virsh -c "$VM_URI" domiflist "$VM_A" | awk 'NR > 2 && $1 != "" { print $5; exit }')
sysctl -qw "net.ipv6.conf.$TAP_A.disable_ipv6=1"
check "VM $VM_B (20% CPU, writes $DISK_MB MiB through cache=writeback) starts" \
	vm_start "$VM_B" 20 0 $DISK_MB writeback
check "VM $VM_D (idle, writes $DISK_MB MiB through io='io_uring') starts" \
	vm_start "$VM_D" 0 0 $DISK_MB none io_uring
for vm in "$VM_A" "$VM_B" "$VM_D"; do
	check "guest $vm boots" vm_wait_booted "$vm" 60
done

start_collector "$DB" "$URL" || { check "collector starts" false; exit 0; }
"$BIN/vigil-probe" --collector "$URL" >> "$WORK/probe.log" 2>&1 &
PROBE=$!; started $PROBE

rows_of() { stored "$DB" "$1" "" count || echo 0; }
both_stored() { [ "$(rows_of "$VM_A")" -gt 0 ] && [ "$(rows_of "$VM_B")" -gt 0 ]; }
check "probe finds both libvirt domains" wait_for both_stored 15
sleep 1

# CPU against libvirt's cpu.time (the domain cgroup's usage) over one window.
t0=$(now_ms); a0=$(vm_cpu_time_ns "$VM_A"); b0=$(vm_cpu_time_ns "$VM_B")
sleep $WINDOW
t1=$(now_ms); a1=$(vm_cpu_time_ns "$VM_A"); b1=$(vm_cpu_time_ns "$VM_B")
sleep 2.5 # the window's last interval is shipped and committed
share() { awk -v a="$1" -v b="$2" -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", (b - a) / 1e6 * 100 / t }'; }
a_virt=$(share "$a0" "$a1"); b_virt=$(share "$b0" "$b1")
a_db=$(stored_mean "$DB" "$VM_A" cpu.used_pct "" $t0 $t1)
b_db=$(stored_mean "$DB" "$VM_B" cpu.used_pct "" $t0 $t1)
echo "  $VM_A: libvirt cpu.time ${a_virt}%  stored ${a_db}%"
echo "  $VM_B: libvirt cpu.time ${b_virt}%  stored ${b_db}%"
within3() { [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d < 3 && d > -3) }'; }
check "VM A CPU % within 3 points of libvirt's cpu.time" within3 "$a_virt" "$a_db"
check "VM B CPU % within 3 points of libvirt's cpu.time" within3 "$b_virt" "$b_db"
check "the busier guest measures busier" cmp "${a_db:-0}" '>' "${b_db:-0}"
check "per-vCPU series stored for a libvirt VM" [ "$(stored "$DB" "$VM_A" "" --tags vcpu=0 count)" -gt 0 ]
check "the VM's cgroup is the domain's, not its emulator thread's" \
	grep -q "vm $VM_A .*cgroup [^ ]*libvirt-qemu\$\|vm $VM_A .*cgroup [^ ]*scope\$" "$WORK/probe.log"

# Memory of a libvirt VM: QEMU's resident set and the domain cgroup's usage.
latest() { stored "$DB" "$1" "$2" latest; }
a_rss=$(latest "$VM_A" mem.rss_bytes); a_cg=$(latest "$VM_A" mem.cgroup_bytes)
echo "  $VM_A: QEMU resident ${a_rss:-none} bytes, domain cgroup ${a_cg:-none} bytes"
check "a libvirt VM's resident memory is stored (> 16 MiB)" [ "${a_rss:-0}" -gt 16777216 ]
# Not equal: shared library pages count in QEMU's RSS but are charged to
# whichever cgroup touched them first.
check "a libvirt VM's cgroup memory is stored, within 25% of QEMU's resident set" \
	awk -v a="${a_rss:-0}" -v b="${a_cg:-0}" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= a * 0.25) }'

a_conf=$(latest "$VM_A" mem.configured_bytes); a_actual=$(latest "$VM_A" mem.balloon_actual_bytes)
a_avail=$(latest "$VM_A" mem.balloon_available_bytes); a_unused=$(latest "$VM_A" mem.balloon_unused_bytes)
virsh_actual=$(virsh -c "$VM_URI" dommemstat "$VM_A" 2>/dev/null | awk '$1 == "actual" { print $2 * 1024 }')
echo "  $VM_A: configured ${a_conf:-none}, balloon actual ${a_actual:-none} (virsh ${virsh_actual:-none}), available ${a_avail:-none}, unused ${a_unused:-none}"
check "configured memory is the domain's 256 MiB" [ "${a_conf:-0}" = 268435456 ]
same_figure() { [ -n "$1" ] && [ "$1" = "$2" ]; }
check "balloon actual size stored and equal to virsh dommemstat" same_figure "$a_actual" "$virsh_actual"
# Both reported, and unused memory is part of the available memory.
balloon_figures_sane() { [ "${a_avail:-0}" -gt 0 ] && [ "${a_unused:-0}" -gt 0 ] && [ "${a_unused:-0}" -le "${a_avail:-0}" ]; }
check "the guest's balloon driver reports available and unused memory" balloon_figures_sane
# Network, the guest's way round: it sends GUEST_FRAMES frames of 200 bytes
# 8 s after boot; the host sends HOST_FRAMES frames of 300 bytes into its
# tap. Totals since the probe attached, against libvirt's domifstat.
if_total() { stored "$DB" "$VM_A" "$1" --tags "if=$TAP_A,mac=$MAC_A" total; }
domif() { virsh -c "$VM_URI" domifstat "$VM_A" "$TAP_A" | awk -v k="$TAP_A $1" '$1 " " $2 == k { print $3 }'; }
rx0=$(domif rx_packets)
"$TBIN/rawsend" --ifname "$TAP_A" --count $HOST_FRAMES --size 300 > /dev/null
wait_for "grep -q 'vigil-guest: frames sent' '$VM_WORK/$VM_A.console'" 30
sleep 2.5
rx1=$(domif rx_packets); tx_all=$(domif tx_packets); txdrop_all=$(domif tx_drop)
echo "  $VM_A ($TAP_A): stored tx $(if_total net.tx_packets) packets / $(if_total net.tx_bytes) bytes," \
	"rx $(if_total net.rx_packets) / $(if_total net.rx_bytes), drops tx $(if_total net.tx_drops) rx $(if_total net.rx_drops);" \
	"domifstat tx $tx_all, tx_drop $txdrop_all, rx delta $((rx1 - rx0))"
check "guest tx: exactly the frames the guest sent" [ "$(if_total net.tx_packets)" = $GUEST_FRAMES ]
check "guest tx bytes: 200 per frame" [ "$(if_total net.tx_bytes)" = $((GUEST_FRAMES * 200)) ]
check "guest tx equals libvirt's domifstat tx_packets" [ "$(if_total net.tx_packets)" = "$tx_all" ]
check "guest rx: exactly the frames the host sent into the tap" [ "$(if_total net.rx_packets)" = $HOST_FRAMES ]
check "guest rx bytes: 300 per frame" [ "$(if_total net.rx_bytes)" = $((HOST_FRAMES * 300)) ]
check "guest rx equals libvirt's domifstat rx_packets over the same stretch" [ "$(if_total net.rx_packets)" = $((rx1 - rx0)) ]
# The host has no handler for the test's EtherType, so it drops what the
# guest sends after counting it: libvirt reports those as the guest's
# tx_drop too.
check "guest tx drops equal libvirt's domifstat tx_drop" [ "$(if_total net.tx_drops)" = "$txdrop_all" ]
check "no frame towards the guest dropped" [ "$(if_total net.rx_drops)" = 0 ]

# Disk: the guest writes DISK_MB MiB to vda with O_DIRECT; the raw image
# with cache='none' makes QEMU's writes exactly the guest's.
wait_for "grep -q 'vigil-guest: disk written' '$VM_WORK/$VM_A.console'" 40
sleep 2.5
disk_total() { stored "$DB" "${2:-$VM_A}" "$1" --tags dev=vda total; }
blk() { virsh -c "$VM_URI" domblkstat "${2:-$VM_A}" vda | awk -v k="$1" '$2 == k { print $3 }'; }
written=$(disk_total disk.write_bytes)
echo "  $VM_A vda: stored ${written:-none} bytes written in $(disk_total disk.write_ops) calls," \
	"libvirt wr_bytes $(blk wr_bytes); p50/p99 write latency of the busiest interval:" \
	"$(latest "$VM_A" disk.write_lat_p50_us)/$(latest "$VM_A" disk.write_lat_p99_us) us"
check "the guest wrote its disk" grep -q 'vigil-guest: disk written' "$VM_WORK/$VM_A.console"
check "disk bytes written equal what the guest wrote" [ "${written:-0}" = $((DISK_MB * 1048576)) ]
check "disk bytes written equal libvirt's block stats" [ "${written:-0}" = "$(blk wr_bytes)" ]
wait_for "grep -q 'vigil-guest: disk written' '$VM_WORK/$VM_B.console'" 20
sleep 2.5
echo "  $VM_B vda (cache=writeback): stored $(disk_total disk.write_bytes "$VM_B") bytes written," \
	"libvirt wr_bytes $(blk wr_bytes "$VM_B")"
check "cache=writeback: disk bytes written equal what the guest wrote" \
	[ "$(disk_total disk.write_bytes "$VM_B")" = $((DISK_MB * 1048576)) ]
check "cache=writeback: equal to libvirt's block stats" \
	[ "$(disk_total disk.write_bytes "$VM_B")" = "$(blk wr_bytes "$VM_B")" ]
lat_rows() { stored "$DB" "$1" disk.write_lat_p99_us --tags dev=vda --value-gt 0 count; }
check "write latency percentiles stored" [ "$(lat_rows "$VM_A")" -gt 0 ]
# io='io_uring': QEMU submits the guest's writes as io_uring requests, no
# write system calls at all; the io_uring programs count them.
wait_for "grep -q 'vigil-guest: disk written' '$VM_WORK/$VM_D.console'" 20
sleep 2.5
echo "  $VM_D vda (io='io_uring'): stored $(disk_total disk.write_bytes "$VM_D") bytes written in" \
	"$(disk_total disk.write_ops "$VM_D") requests, libvirt wr_bytes $(blk wr_bytes "$VM_D")"
check "io_uring: the guest wrote its disk" grep -q 'vigil-guest: disk written' "$VM_WORK/$VM_D.console"
check "io_uring: disk bytes written equal what the guest wrote" \
	[ "$(disk_total disk.write_bytes "$VM_D")" = $((DISK_MB * 1048576)) ]
check "io_uring: equal to libvirt's block stats" \
	[ "$(disk_total disk.write_bytes "$VM_D")" = "$(blk wr_bytes "$VM_D")" ]
check "io_uring: write latency percentiles stored" [ "$(lat_rows "$VM_D")" -gt 0 ]

# kvm.exits rows of this test's VMs (the probe also watches any other
# libvirt VM of the host); fails if they cannot be listed.
kvm_exit_rows() {
	local uuids uuid n rows=0
	uuids=$("$BIN/vigilctl" --db "$DB" vms --json |
		jq -r --arg p "$PREFIX" '.vms[] | select(.vm | startswith($p)) | .uuid') && [ -n "$uuids" ] || return 1
	for uuid in $uuids; do
		n=$(stored "$DB" "$uuid" kvm.exits count) || return 1
		rows=$((rows + n))
	done
	echo $rows
}
check "TCG guests have no kvm.exits series (the family is simply absent)" [ "$(kvm_exit_rows)" = 0 ]

# A VM started mid-run: listed within 2 intervals of libvirt reporting it.
vm_start "$VM_C" 10
started_ms=$(now_ms)
wait_for "[ \$(rows_of $VM_C) -gt 0 ]" 10
first_ms=$(stored "$DB" "$VM_C" "" --layer-not sla first-end)
echo "  $VM_C: first interval ends $(( ${first_ms:-0} - started_ms )) ms after it started"
# within_2s T REF: time T (ms) is known and at most 2 s after REF.
within_2s() { [ -n "$1" ] && [ $(($1 - $2)) -le 2000 ]; }
check "a VM started mid-run is sampled within 2 intervals" within_2s "$first_ms" "$started_ms"

# A destroyed VM: no more samples; its rows end at or before the destroy.
# Readings only: the SLA checks' own rows (layer sla) go on to record the
# silence.
vm_destroy "$VM_B"
destroyed_ms=$(now_ms)
sleep 4
last_ms=$(stored "$DB" "$VM_B" "" --layer-not sla last-end)
echo "  $VM_B: last interval ends $(( ${last_ms:-0} - destroyed_ms )) ms after the destroy"
check "a destroyed VM's intervals stop within 2 intervals" within_2s "$last_ms" "$destroyed_ms"
"$BIN/vigilctl" --collector "$URL" status --json > "$WORK/status.json"
"$BIN/vigilctl" --collector "$URL" status
check "status shows the destroyed VM as gone" \
	[ "$(jq -r --arg vm "$VM_B" '.vms[] | select(.vm == $vm) | .state' "$WORK/status.json")" = gone ]
check "status still shows the running VMs as running" \
	[ "$(jq -r --arg vm "$VM_A" '.vms[] | select(.vm == $vm) | .state' "$WORK/status.json")" = running ]
check "the destroyed VM's history is kept" [ "$(rows_of "$VM_B")" -gt 0 ]
check "probe kept running" kill -0 $PROBE
check "probe logged no error" bash -c "! grep -q '\[error\]' '$WORK/probe.log'"
