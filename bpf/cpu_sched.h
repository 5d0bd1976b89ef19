/* Types shared by bpf/cpu_sched.bpf.c and its loader userspace/cpu_probe.c.
 *
 * The probe tells the kernel which threads belong to which VM (a "slot") and
 * which vCPU each thread runs. The kernel side accumulates, per slot and per
 * vCPU, on-CPU time and run-queue wait time in per-CPU counters, so that the
 * hot path never contends on a shared cache line. */
#ifndef VIGIL_CPU_SCHED_H
#define VIGIL_CPU_SCHED_H

#define VIGIL_MAX_THREADS   65536
#define VIGIL_MAX_PROCESSES 4096
#define VIGIL_MAX_BUCKETS   16384
#define VIGIL_VCPU_NONE     (-1) /* emulator, I/O and other non-vCPU threads */

/* threads map value, keyed by thread id (kernel pid). */
struct vigil_thread {
	__u32 vm_slot;
	__s32 vcpu;           /* vCPU index, or VIGIL_VCPU_NONE */
	__u64 running_since;  /* ktime of the switch-in while on CPU, else 0 */
	__u64 queued_since;   /* ktime of wakeup or preemption while runnable, else 0 */
};

/* cpu_totals map key: one bucket per VM slot and vCPU (or VIGIL_VCPU_NONE). */
struct vigil_bucket_key {
	__u32 vm_slot;
	__s32 vcpu;
};

/* cpu_totals map value (per CPU; the loader sums the CPUs). Cumulative. */
struct vigil_cpu_counters {
	__u64 on_cpu_ns;
	__u64 wait_ns;       /* runnable but not running: the steal a guest feels */
	__u64 nr_preempted;  /* involuntary context switches */
};

#endif
