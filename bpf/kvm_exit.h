/* Types shared by bpf/kvm_exit.bpf.c and its loader userspace/kvm_exit.c.
 *
 * The probe tells the kernel which processes belong to which VM (a "slot");
 * the kernel counts every kvm:kvm_exit event of their threads (the vCPU
 * threads, where KVM runs the guest) per slot, ISA and exit reason, in
 * per-CPU counters that the loader sums. */
#ifndef VIGIL_KVM_EXIT_H
#define VIGIL_KVM_EXIT_H

#define VIGIL_KVM_MAX_PROCESSES 4096
/* A VM sees a handful to a few dozen distinct exit reasons. */
#define VIGIL_KVM_MAX_COUNTERS  16384

/* The kvm_exit record's isa field (arch/x86/kvm/trace.h: KVM_ISA_VMX,
 * KVM_ISA_SVM). It says how to read exit_reason. */
#define VIGIL_KVM_ISA_VMX 1
#define VIGIL_KVM_ISA_SVM 2

/* kvm_exit_counts map key. exit_reason is the record's, unchanged: on VMX
 * its upper 16 bits are flags (failed VM entry, enclave mode...), which the
 * decoder masks off; on SVM all 32 bits are the exit code. */
struct vigil_kvm_exit_key {
	__u32 vm_slot;
	__u32 isa;
	__u32 exit_reason;
};

#endif
