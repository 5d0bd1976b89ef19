# Helpers to run tiny TCG test VMs under libvirt (sourced by scripts/demo.sh
# and the VM tests). They touch only what they start: the daemons they
# launched (by PID), the domains they created and their own work directory.
#
# vm_setup_workdir GUEST_DIR first: it sets VM_WORK, a directory for the
# guest's kernel, disks, XML and consoles.

VM_URI=qemu:///system
VM_DAEMON_PIDS=()
VM_KVM_RESTORE=""

# libvirt probes QEMU's capabilities as root, with KVM, but checks that
# cache as the qemu user; when /dev/kvm is root-only (no udev has applied the
# packaged root:kvm 0660 rule) every check fails and each domain start
# re-probes QEMU for about 50 s. Apply the packaged permissions; they are
# restored by vm_stop_libvirtd.
vm_fix_kvm_access() {
	[ -c /dev/kvm ] && getent group kvm > /dev/null || return 0
	local mode
	mode=$(stat -c '%U:%G %a' /dev/kvm)
	[ "$mode" = "root:kvm 660" ] && return 0
	VM_KVM_RESTORE=$mode
	chgrp kvm /dev/kvm && chmod 660 /dev/kvm
}

# QEMU runs as the libvirt-qemu user, which cannot reach a build tree under
# /root, so the guest files are copied to libvirt's own images directory.
vm_setup_workdir() { # GUEST_DIR
	mkdir -p /var/lib/libvirt/images || return 1
	VM_WORK=$(mktemp -d /var/lib/libvirt/images/vigil.XXXXXX) || return 1
	chmod 755 "$VM_WORK"
	cp "$1/vmlinuz" "$1/initrd.img" "$VM_WORK/"
}

vm_remove_workdir() {
	case ${VM_WORK:-} in
	/var/lib/libvirt/images/vigil.*) rm -rf "$VM_WORK" ;;
	esac
}

# Starts virtlogd and libvirtd unless libvirtd answers already. No systemd
# here: the daemons run in their own sessions and are stopped by PID.
vm_ensure_libvirtd() {
	vm_fix_kvm_access
	if virsh -c "$VM_URI" version > /dev/null 2>&1; then
		return 0
	fi
	if ! pgrep -x virtlogd > /dev/null; then
		setsid /usr/sbin/virtlogd > "$VM_WORK/virtlogd.log" 2>&1 < /dev/null &
		VM_DAEMON_PIDS+=($!)
	fi
	setsid /usr/sbin/libvirtd > "$VM_WORK/libvirtd.log" 2>&1 < /dev/null &
	VM_DAEMON_PIDS+=($!)
	local i
	for ((i = 0; i < 100; i++)); do
		virsh -c "$VM_URI" version > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "vm: libvirtd did not come up; see $VM_WORK/libvirtd.log" >&2
	return 1
}

# Stops the daemons vm_ensure_libvirtd started, libvirtd first, and puts
# /dev/kvm's permissions back.
vm_stop_libvirtd() {
	local i
	for ((i = ${#VM_DAEMON_PIDS[@]} - 1; i >= 0; i--)); do
		kill "${VM_DAEMON_PIDS[$i]}" 2> /dev/null
		wait "${VM_DAEMON_PIDS[$i]}" 2> /dev/null
	done
	VM_DAEMON_PIDS=()
	if [ -n "$VM_KVM_RESTORE" ]; then
		chown "${VM_KVM_RESTORE% *}" /dev/kvm && chmod "${VM_KVM_RESTORE#* }" /dev/kvm
		VM_KVM_RESTORE=""
	fi
}

# Writes the domain XML of a 256 MiB, 1-vCPU TCG guest to stdout: it burns
# DUTY percent of a CPU, sends FRAMES raw frames and writes DISK_MB MiB to
# its disk (see scripts/vm/init). IPv6 is off in the guest, so its only
# traffic is those frames. The disk is a raw image, so QEMU's writes to it
# are the guest's, byte for byte; CACHE is its cache mode (default none:
# O_DIRECT on the host; writeback goes through the host's page cache), and
# IO, when given, QEMU's I/O mode (threads, native or io_uring; default:
# QEMU's, the thread pool).
vm_xml() { # NAME DUTY [FRAMES [DISK_MB [CACHE [IO]]]]
	cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$VM_WORK/vmlinuz</kernel>
    <initrd>$VM_WORK/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 ipv6.disable=1 vigil.duty=$2 vigil.frames=${3:-0} vigil.disk_mb=${4:-0}</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='${5:-none}'${6:+ io='$6'}/>
      <source file='$VM_WORK/$1.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='ethernet'>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='$VM_WORK/$1.console'/>
    </serial>
    <memballoon model='virtio'>
      <stats period='2'/>
    </memballoon>
  </devices>
</domain>
XML
}

# Starts a transient domain: it is gone once destroyed.
vm_start() { # NAME DUTY [FRAMES [DISK_MB [CACHE [IO]]]]
	qemu-img create -q -f raw "$VM_WORK/$1.img" 64M || return 1
	vm_xml "$1" "$2" "${3:-0}" "${4:-0}" "${5:-none}" "${6:-}" > "$VM_WORK/$1.xml"
	virsh -q -c "$VM_URI" create "$VM_WORK/$1.xml" > /dev/null
}

# Waits up to $2 seconds for the guest's /init to report on its console.
vm_wait_booted() { # NAME SECONDS
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		grep -q 'vigil-guest: up' "$VM_WORK/$1.console" 2> /dev/null && return 0
		sleep 0.2
	done
	return 1
}

vm_destroy() { # NAME
	virsh -q -c "$VM_URI" destroy "$1" > /dev/null 2>&1
}

# Destroys every running domain whose name starts with PREFIX. A libvirtd
# that someone else started may have been stopped meanwhile: then each such
# domain's QEMU is ended by the PID in libvirt's pid file, if that process
# still runs that very domain.
vm_destroy_prefixed() { # PREFIX
	local name f pid
	for name in $(virsh -q -c "$VM_URI" list --name 2> /dev/null); do
		case $name in "$1"*) vm_destroy "$name" ;; esac
	done
	for f in /run/libvirt/qemu/"$1"*.pid; do
		[ -f "$f" ] || continue
		name=$(basename "$f" .pid)
		pid=$(cat "$f" 2> /dev/null)
		case $pid in '' | *[!0-9]*) continue ;; esac
		if tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -q -- "-name guest=$name,"; then
			kill "$pid"
		fi
	done
}

# libvirt's cumulative CPU time of a domain, in ns (its cgroup's usage).
vm_cpu_time_ns() { # NAME
	virsh -c "$VM_URI" domstats --cpu-total "$1" 2> /dev/null | sed -n 's/^ *cpu.time=//p'
}
