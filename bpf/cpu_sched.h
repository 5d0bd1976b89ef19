/* Types shared by bpf/cpu_sched.bpf.c and its loader userspace/cpu_probe.c.
 *
 * The probe tells the kernel which threads belong to which VM (a "slot") and
 * which vCPU each thread runs. The kernel side accumulates, per slot and per
 * vCPU, on-CPU time, run-queue wait time and involuntary switches in per-CPU
 * counters, so that the hot path never contends on a shared cache line.
 *
 * The figures are the kernel's own per-task counters (se.sum_exec_runtime,
 * sched_info.run_delay, nivcsw, min_flt, maj_flt), folded into the buckets whenever a watched
 * thread leaves a CPU. Pairing switch-in and switch-out timestamps instead
 * would lose a whole slice whenever one tracepoint call is missing, and some
 * kernels do not report every context switch to sched_switch. */
#ifndef VIGIL_CPU_SCHED_H
#define VIGIL_CPU_SCHED_H

#define VIGIL_MAX_THREADS   65536
#define VIGIL_MAX_PROCESSES 4096
#define VIGIL_MAX_BUCKETS   16384
#define VIGIL_VCPU_NONE     (-1) /* emulator, I/O and other non-vCPU threads */

/* watched_tids (bpf/pid_bits.h) has the bit of every thread in the
 * threads map: the programs test it before looking a thread up. */

/* threads map value, keyed by thread id (kernel pid). */
struct vigil_thread {
	__u32 vm_slot;
	__s32 vcpu;             /* vCPU index, or VIGIL_VCPU_NONE */
	/* The task's counters as far as they are in the buckets already. */
	__u64 seen_exec_ns;     /* se.sum_exec_runtime */
	__u64 seen_delay_ns;    /* sched_info.run_delay */
	__u64 seen_nivcsw;      /* nivcsw */
	__u64 seen_minflt;      /* min_flt: minor page faults */
	__u64 seen_majflt;      /* maj_flt: major page faults */
	/* A wait in progress, which run_delay only counts once it ends: the
	 * ktime of the wakeup or preemption, and sched_info.pcount then. The
	 * wait is over once pcount has moved on (the thread got a CPU), even
	 * if no event said so. 0 when not waiting. */
	__u64 queued_since;
	__u64 queued_pcount;
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
	__u64 minor_faults;
	__u64 major_faults;
};

#endif
