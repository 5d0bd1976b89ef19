/* Types shared by bpf/cpu_sched.bpf.c and its loader userspace/cpu_sched.c.
 *
 * The probe tells the kernel which threads belong to which VM (a "slot") and
 * which vCPU each thread runs. Each watched thread has one entry in the
 * threads table. When the thread leaves a CPU, the kernel copies the task's
 * own scheduler counters (se.sum_exec_runtime, sched_info.run_delay, nivcsw,
 * min_flt, maj_flt) into the entry; the loader sums the entries of a
 * (slot, vCPU) bucket, minus what each thread had when it was first watched.
 *
 * Copying the kernel's cumulative counters, rather than pairing switch-in
 * and switch-out timestamps, means that a context switch the tracepoint
 * never reported only delays the copy to the next one: some kernels do not
 * report every switch (docs/cpu-accounting.md).
 *
 * The table is an array with open addressing rather than a hash map: the
 * verifier inlines array lookups, and a hash lookup was most of the cost of a
 * watched context switch (docs/benchmarks.md). A thread's entry is in one of
 * the VIGIL_THREAD_PROBES positions from its home position. Both sides map
 * the array (BPF_F_MMAPABLE) and claim a free entry by compare-and-swap of
 * its tid; only the loader frees entries. */
#ifndef VIGIL_CPU_SCHED_H
#define VIGIL_CPU_SCHED_H

#ifndef __BPF__
#include <linux/types.h> /* the BPF side has them from vmlinux.h */
#endif

#define VIGIL_THREAD_TABLE_BITS 17
#define VIGIL_THREAD_PROBES     8
/* The probe window of the last home position stays inside the array. */
#define VIGIL_THREAD_ENTRIES    ((1u << VIGIL_THREAD_TABLE_BITS) + VIGIL_THREAD_PROBES)
#define VIGIL_THREAD_USED_WORDS ((VIGIL_THREAD_ENTRIES + 63) / 64)
#define VIGIL_MAX_PROCESSES     4096
#define VIGIL_VCPU_NONE         (-1) /* emulator, I/O and other non-vCPU threads */

/* vigil_thread.flags */
#define VIGIL_THREAD_READY 1u /* the rest of the entry is written: use it */
#define VIGIL_THREAD_DEAD  2u /* its last switch is copied; the loader frees it */

/* watched_tids (bpf/pid_bits.h) has the bit of every thread in the table:
 * the programs test it before probing the table. threads_used has the bit
 * of every position in use, so the loader need not walk the whole table. */

/* One entry of the threads table. */
struct vigil_thread {
	__u32 tid;              /* 0: free. Claimed by compare-and-swap */
	__u32 flags;            /* VIGIL_THREAD_*, set with atomic or */
	__u32 vm_slot;          /* written by whoever claimed the entry */
	__s32 vcpu;             /* vCPU index, or VIGIL_VCPU_NONE */
	/* The task's counters at its last switch-out (or when the loader
	 * claimed the entry). Each only grows. */
	__u64 exec_ns;          /* se.sum_exec_runtime */
	__u64 delay_ns;         /* sched_info.run_delay */
	__u64 nivcsw;           /* involuntary context switches */
	__u64 minflt;           /* min_flt: minor page faults */
	__u64 majflt;           /* maj_flt: major page faults */
	/* A wait in progress, which run_delay only counts once it ends: the
	 * ktime of the wakeup or preemption, and sched_info.pcount then. The
	 * wait is over once pcount has moved on (the thread got a CPU), even
	 * if no event said so. 0 when not waiting. */
	__u64 queued_since;
	__u64 queued_pcount;
};

/* A thread's home position: Fibonacci hashing spreads consecutive tids. */
static inline __u32 vigil_thread_home(__u32 tid)
{
	return (__u32)(tid * 2654435761u) >> (32 - VIGIL_THREAD_TABLE_BITS);
}

#endif
