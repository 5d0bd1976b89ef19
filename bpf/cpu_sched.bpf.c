// SPDX-License-Identifier: GPL-2.0
/* CPU accounting of VM threads from the scheduler tracepoints.
 *
 * Each watched thread has an entry in the threads table (cpu_sched.h), put
 * there by the loader or, for new threads of watched processes, by
 * sched_wakeup_new. When it leaves a CPU its scheduler counters are copied
 * into the entry. A context switch the tracepoint never reported only delays
 * that copy to the next one; nothing is lost. Threads that are not watched
 * cost one bit test per event (watched_tids). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cpu_sched.h"
#include "pid_bits.h"

/* From include/linux/sched.h: macros are not part of the kernel's BTF. */
#define TASK_RUNNING 0x0000
#define TASK_DEAD    0x0080

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VIGIL_THREAD_ENTRIES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vigil_thread);
} threads SEC(".maps");

/* Every thread in the table has its bit here (pid_bits.h). */
VIGIL_PID_BITMAP(watched_tids);

/* Every position of the table in use has its bit here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VIGIL_THREAD_USED_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} threads_used SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIGIL_MAX_PROCESSES);
	__type(key, __u32);
	__type(value, __u32);
} processes SEC(".maps");

/* New threads of watched processes that found no free entry near their
 * home position, so that a VM counted low says so (the loader logs it). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} threads_lost SEC(".maps");

/* task_struct::state was renamed __state in 5.14. */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *task)
{
	struct task_struct___o *old = (void *)task;

	if (bpf_core_field_exists(old->state))
		return BPF_CORE_READ(old, state);
	/* A plain load: tp_btf arguments are trusted pointers, and a
	 * BPF_CORE_READ would cost a helper call on every switch. */
	return task->__state;
}

/* sched_info exists only with CONFIG_SCHED_INFO; without it there is no
 * run-queue wait to report, and the loader says so. */
static __always_inline __u64 task_run_delay(const struct task_struct *task)
{
	if (bpf_core_field_exists(task->sched_info))
		return task->sched_info.run_delay;
	return 0;
}

static __always_inline __u64 task_pcount(const struct task_struct *task)
{
	if (bpf_core_field_exists(task->sched_info))
		return task->sched_info.pcount;
	return 0;
}

/* The thread's entry, if it is in the table and ready. The probe loop is
 * unrolled: array lookups are inlined, so a hit at the home position costs
 * a few instructions. */
static __always_inline struct vigil_thread *table_find(__u32 tid)
{
	__u32 home = vigil_thread_home(tid);

#pragma clang loop unroll(full)
	for (__u32 i = 0; i < VIGIL_THREAD_PROBES; i++) {
		__u32 pos = home + i;
		struct vigil_thread *t = bpf_map_lookup_elem(&threads, &pos);

		if (t && t->tid == tid)
			return t->flags & VIGIL_THREAD_READY ? t : NULL;
	}
	return NULL;
}

/* The entry of a watched, live thread. Unwatched threads stop at the bit
 * test; a set bit without an entry costs the probes and nothing else. */
static __always_inline struct vigil_thread *watched_thread(__u32 tid)
{
	struct vigil_thread *t;

	if (!pid_maybe_in(&watched_tids, tid))
		return NULL;
	t = table_find(tid);
	return t && !(t->flags & VIGIL_THREAD_DEAD) ? t : NULL;
}

/* Claims a free entry near tid's home position, or NULL if all are taken.
 * The entry is not READY yet: the caller fills it in first. */
static __always_inline struct vigil_thread *table_claim(__u32 tid)
{
	__u32 home = vigil_thread_home(tid);

#pragma clang loop unroll(full)
	for (__u32 i = 0; i < VIGIL_THREAD_PROBES; i++) {
		__u32 pos = home + i;
		struct vigil_thread *t = bpf_map_lookup_elem(&threads, &pos);

		if (t && t->tid == 0 && __sync_val_compare_and_swap(&t->tid, 0, tid) == 0) {
			pid_mark(&threads_used, pos, true);
			return t;
		}
	}
	return NULL;
}

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&threads_lost, &zero);

	if (lost)
		*lost += 1;
}

/* Copies the task's counters into its entry. Only the CPU the thread is
 * leaving writes them, so plain stores do; the loader reads each field on
 * its own and takes the larger of it and /proc's figure. */
static __always_inline void copy_counters(struct vigil_thread *t, const struct task_struct *task)
{
	t->exec_ns = task->se.sum_exec_runtime;
	t->delay_ns = task_run_delay(task);
	t->nivcsw = task->nivcsw;
	t->minflt = task->min_flt;
	t->majflt = task->maj_flt;
}

/* Whether the kernel keeps sched_info (CONFIG_SCHED_INFO): without it there
 * is no run_delay and no pcount to tell when a wait ended, so waits are not
 * tracked at all. */
static __always_inline bool has_sched_info(const struct task_struct *task)
{
	return bpf_core_field_exists(task->sched_info);
}

/* The thread starts waiting for a CPU now, unless a wait is already open:
 * queued since an earlier wakeup or preemption, and not run since
 * (sched_info.pcount unchanged). A wait ends when pcount moves on, so no
 * switch-in event is needed to close it. */
static __always_inline void mark_queued(struct vigil_thread *t, const struct task_struct *p)
{
	__u64 pcount = task_pcount(p);

	if (!has_sched_info(p) || (t->queued_since && t->queued_pcount == pcount))
		return;
	/* The clock is read only here: most events are of threads that are
	 * not watched or not starting a wait, and a clock read is not free. */
	t->queued_since = bpf_ktime_get_ns();
	t->queued_pcount = pcount;
}

/* At sched_switch the scheduler has already charged prev's slice to
 * sum_exec_runtime and counted the switch in nivcsw or nvcsw. */
static __always_inline void switch_out(struct task_struct *prev, bool preempt)
{
	__u32 tid = prev->pid;
	struct vigil_thread *t = watched_thread(tid);
	long state;

	if (!t)
		return;
	copy_counters(t, prev);

	/* The last switch of an exiting thread: the loader adds the entry's
	 * final counters to its bucket and frees it; until then the tid's bit
	 * is clear, so a task later given the same id is not taken for it. */
	state = task_state(prev);
	if (state & TASK_DEAD) {
		__sync_fetch_and_or(&t->flags, VIGIL_THREAD_DEAD);
		pid_mark(&watched_tids, tid, false);
		return;
	}
	/* Preempted, or yielded while runnable: it waits on a run queue. */
	if (preempt || state == TASK_RUNNING)
		mark_queued(t, prev);
	else
		t->queued_since = 0;
}

/* Only the thread leaving the CPU is looked at: what the next one waited is
 * in its run_delay already, and its open wait (if any) is over because its
 * pcount has moved on. Not looking it up halves the cost for watched
 * threads. The fourth argument (prev_state) only exists since 5.18; the
 * state is read from prev instead, which works with every version of the
 * tracepoint. */
SEC("tp_btf/sched_switch")
int BPF_PROG(vigil_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	switch_out(prev, preempt);
	return 0;
}

/* Becoming runnable. A wakeup can reach a thread that is still on its CPU
 * (woken before it got to sleep); that is not waiting. */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(vigil_sched_wakeup, struct task_struct *p)
{
	struct vigil_thread *t = watched_thread(p->pid);

	if (t && !p->on_cpu)
		mark_queued(t, p);
	return 0;
}

/* A new thread of a watched process is counted from its first wakeup as a
 * non-vCPU thread; the loader reassigns it once it knows it is a vCPU. Its
 * scheduler counters start at zero, and so do the entry's: the loader
 * counts entries it did not claim from zero. */
SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(vigil_sched_wakeup_new, struct task_struct *p)
{
	__u32 tid = p->pid, tgid = p->tgid;
	struct vigil_thread *t = watched_thread(tid);
	__u32 *slot;

	if (t) {
		mark_queued(t, p);
		return 0;
	}
	slot = bpf_map_lookup_elem(&processes, &tgid);
	if (!slot)
		return 0;
	t = table_claim(tid);
	if (!t) {
		count_lost();
		return 0;
	}
	t->vm_slot = *slot;
	t->vcpu = VIGIL_VCPU_NONE;
	mark_queued(t, p);
	/* The atomic or orders the stores above before READY. */
	__sync_fetch_and_or(&t->flags, VIGIL_THREAD_READY);
	pid_mark(&watched_tids, tid, true);
	return 0;
}
