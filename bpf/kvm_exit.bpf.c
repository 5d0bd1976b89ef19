// SPDX-License-Identifier: GPL-2.0
/* VM exits per VM, exit reason and ISA, from the kvm:kvm_exit tracepoint.
 *
 * KVM fires kvm_exit on the vCPU thread each time the guest leaves guest
 * mode. Events of processes that are not watched (kvm_processes, filled by
 * the loader) cost one hash lookup. See kvm_exit.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kvm_exit.h"

char LICENSE[] SEC("license") = "GPL";

/* The part of the kvm_exit record this program reads. The ___vigil suffix
 * makes libbpf match it with the kernel's trace_event_raw_kvm_exit (CO-RE),
 * so the offsets come from the running kernel's BTF at load time, not from
 * the vendored vmlinux.h:
 * - where KVM is built in (as on the development host, a 6.18 kernel), the
 *   type is in vmlinux BTF;
 * - where KVM is a module, it is in the kvm module's BTF, which libbpf
 *   searches as well (the 1.1 used here does);
 * - the record grew over the years (vcpu_id, intr_info, error_code and
 *   requests were added after exit_reason, guest_rip and isa), which moved
 *   fields on some kernels; relocating by name stays right on all of them.
 * Fixed offsets from tracefs's events/kvm/kvm_exit/format would need a
 * per-host patch of the program instead; not needed since this relocates
 * and loads. */
struct trace_event_raw_kvm_exit___vigil {
	unsigned int exit_reason;
	__u32 isa;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIGIL_KVM_MAX_PROCESSES);
	__type(key, __u32);   /* tgid */
	__type(value, __u32); /* VM slot */
} kvm_processes SEC(".maps");

/* Not preallocated: preallocating a per-CPU hash would reserve
 * max_entries * 8 bytes * nr_cpus up front for a few hundred keys in use.
 * (Before 6.1 the kernel warns once about run-time allocation in
 * tracepoint programs, and PREEMPT_RT kernels refuse it.) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, VIGIL_KVM_MAX_COUNTERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vigil_kvm_exit_key);
	__type(value, __u64);
} kvm_exit_counts SEC(".maps");

/* Exits of watched VMs that found kvm_exit_counts full, so that a figure
 * running low says so instead of staying silent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} kvm_exit_lost SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&kvm_exit_lost, &zero);

	if (lost)
		*lost += 1;
}

/* This CPU's counter, created on first use. Per-CPU values need no atomic
 * add: only this CPU writes its copy, and the tracepoint runs with
 * preemption disabled. */
static __always_inline void count_exit(const struct vigil_kvm_exit_key *key)
{
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&kvm_exit_counts, key);
	if (n) {
		*n += 1;
		return;
	}
	/* NOEXIST: another CPU may have created the key meanwhile; then
	 * this CPU's copy exists too (zero) and the lookup finds it. */
	if (bpf_map_update_elem(&kvm_exit_counts, key, &one, BPF_NOEXIST) == 0)
		return;
	n = bpf_map_lookup_elem(&kvm_exit_counts, key);
	if (n)
		*n += 1;
	else
		count_lost();
}

SEC("tracepoint/kvm/kvm_exit")
int vigil_kvm_exit(struct trace_event_raw_kvm_exit___vigil *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct vigil_kvm_exit_key key;
	__u32 *slot;

	slot = bpf_map_lookup_elem(&kvm_processes, &tgid);
	if (!slot)
		return 0;
	key.vm_slot = *slot;
	key.isa = ctx->isa;
	key.exit_reason = ctx->exit_reason;
	count_exit(&key);
	return 0;
}
