/* VM exits per VM and exit reason: loader and reader for bpf/kvm_exit.bpf.c,
 * and the decoding of exit reasons into names.
 *
 * Lifecycle: kvm_probe_open() checks that the kvm:kvm_exit tracepoint
 * exists (mounting tracefs if the host has not, see tracefs.h), then opens,
 * loads and attaches; the probe registers each VM's
 * processes under its slot; kvm_probe_snapshot() reads cumulative counts.
 * KVM exits are an optional family: when kvm_probe_open() fails the caller
 * says "KVM exits not counted: <err>" and goes on without them. */
#ifndef VIGIL_KVM_EXIT_LOADER_H
#define VIGIL_KVM_EXIT_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The kvm_exit record's isa field (arch/x86/kvm/trace.h). */
#define KVM_EXIT_ISA_VMX 1 /* Intel VT-x */
#define KVM_EXIT_ISA_SVM 2 /* AMD-V */

/* The bits of a VMX exit reason that hold the basic exit reason; the upper
 * bits are flags (bit 31: VM entry failed). */
#define KVM_EXIT_VMX_BASIC_MASK 0xffffu

struct kvm_probe;

/* One cumulative count of a (VM slot, ISA, exit reason). exit_reason is as
 * the kernel reported it, VMX flag bits included: a VMX reason with flags
 * set is a reading of its own, with the same name as the basic reason. */
struct kvm_exit_reading {
	uint32_t vm_slot;
	uint32_t isa;
	uint32_t exit_reason;
	uint64_t count;
};

/* The short lowercase name of an exit reason ("hlt", "io_instruction",
 * "npf"...): the kernel's own names (VMX_EXIT_REASONS, SVM_EXIT_REASONS),
 * lowercased, with spaces and dashes as '_'. On VMX only the basic reason
 * (low 16 bits) counts. NULL for an ISA or reason the kernel does not name;
 * the caller then writes "unknown_N". */
const char *kvm_exit_reason_name(unsigned isa, uint32_t reason);

/* "vmx", "svm", or NULL. */
const char *kvm_exit_isa_name(unsigned isa);

/* Opens, loads and attaches the program. On failure returns a negative errno
 * and writes a message naming the failed step into err:
 *   -ENOENT  tracefs has no kvm:kvm_exit event: KVM is not loaded here;
 *   -ENODEV  tracefs is not mounted and could not be mounted (no
 *            CAP_SYS_ADMIN, no tracefs in the kernel): err says why;
 *   other    loading or attaching failed (not root, no BTF, ...). */
int kvm_probe_open(struct kvm_probe **out, char *err, size_t errlen);
void kvm_probe_close(struct kvm_probe *p);

/* Counts the exits of every thread of tgid, present and future, for
 * vm_slot. */
int kvm_probe_watch_process(struct kvm_probe *p, pid_t tgid, uint32_t vm_slot);

/* Stops counting for vm_slot and drops its counts; the slot may be reused. */
int kvm_probe_forget_slot(struct kvm_probe *p, uint32_t vm_slot);

/* Reads every count, summed over CPUs, sorted by slot, ISA and reason.
 * *out is malloc'd (free() it); returns the count or a negative errno. */
int kvm_probe_snapshot(struct kvm_probe *p, struct kvm_exit_reading **out);

/* Exits of watched processes that were not counted because the kernel's
 * table of counts was full (cumulative, all slots). */
int kvm_probe_lost(struct kvm_probe *p, uint64_t *out);

#endif
