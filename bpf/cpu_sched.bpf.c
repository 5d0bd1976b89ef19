// SPDX-License-Identifier: GPL-2.0
/* CPU accounting of VM threads from the scheduler tracepoints.
 *
 * Each watched thread (threads map, filled by the loader and, for new threads
 * of watched processes, by sched_wakeup_new) remembers how much of its own
 * scheduler counters has been added to its (VM slot, vCPU) bucket. When it
 * leaves a CPU, the growth since then is folded into the bucket's per-CPU
 * counters. A context switch the tracepoint never reported only delays that
 * fold to the next one; nothing is lost. Threads that are not watched cost
 * one bit test per event (watched_tids). See cpu_sched.h. */
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
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIGIL_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct vigil_thread);
} threads SEC(".maps");

/* Every thread in the threads map has its bit here (pid_bits.h). */
VIGIL_PID_BITMAP(watched_tids);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIGIL_MAX_PROCESSES);
	__type(key, __u32);
	__type(value, __u32);
} processes SEC(".maps");

/* Not preallocated: a preallocated per-CPU map would reserve
 * max_entries * value * nr_cpus bytes up front, tens of MB on a large host,
 * while a host typically uses a few hundred buckets. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, VIGIL_MAX_BUCKETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vigil_bucket_key);
	__type(value, struct vigil_cpu_counters);
} cpu_totals SEC(".maps");

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

/* The thread's entry, if it is watched. Unwatched threads stop at the bit
 * test; a set bit whose entry is gone costs the lookup and nothing else. */
static __always_inline struct vigil_thread *watched_thread(__u32 tid)
{
	if (!pid_maybe_in(&watched_tids, tid))
		return NULL;
	return bpf_map_lookup_elem(&threads, &tid);
}

/* This CPU's counters of the thread's bucket, created on first use. */
static __always_inline struct vigil_cpu_counters *bucket_of(const struct vigil_thread *t)
{
	struct vigil_bucket_key key = { .vm_slot = t->vm_slot, .vcpu = t->vcpu };
	struct vigil_cpu_counters zero = {};
	struct vigil_cpu_counters *c;

	c = bpf_map_lookup_elem(&cpu_totals, &key);
	if (c)
		return c;
	/* NOEXIST: another CPU may have created the bucket in the meantime. */
	bpf_map_update_elem(&cpu_totals, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&cpu_totals, &key);
}

/* The growth of a cumulative counter since *seen, which then moves up. A
 * counter below *seen (a baseline the loader read a moment late) adds
 * nothing until it has caught up. */
static __always_inline __u64 advance(__u64 *seen, __u64 now)
{
	__u64 grown;

	if (now <= *seen)
		return 0;
	grown = now - *seen;
	*seen = now;
	return grown;
}

/* Adds to the bucket what the task's counters gained since the last fold. */
static __always_inline void fold(struct vigil_thread *t, const struct task_struct *task)
{
	struct vigil_cpu_counters *c = bucket_of(t);

	if (!c)
		return;
	c->on_cpu_ns += advance(&t->seen_exec_ns, task->se.sum_exec_runtime);
	c->wait_ns += advance(&t->seen_delay_ns, task_run_delay(task));
	c->nr_preempted += advance(&t->seen_nivcsw, task->nivcsw);
	c->minor_faults += advance(&t->seen_minflt, task->min_flt);
	c->major_faults += advance(&t->seen_majflt, task->maj_flt);
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
	fold(t, prev);

	/* The last switch of an exiting thread: nothing will remove the entry
	 * later, and its tid may be reused by an unrelated task. */
	state = task_state(prev);
	if (state & TASK_DEAD) {
		bpf_map_delete_elem(&threads, &tid);
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
 * scheduler counters start at zero, and so does what has been seen of them. */
SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(vigil_sched_wakeup_new, struct task_struct *p)
{
	__u32 tid = p->pid, tgid = p->tgid;
	struct vigil_thread *t = watched_thread(tid);
	struct vigil_thread fresh = { .vcpu = VIGIL_VCPU_NONE };
	__u32 *slot;

	if (t) {
		mark_queued(t, p);
		return 0;
	}
	slot = bpf_map_lookup_elem(&processes, &tgid);
	if (!slot)
		return 0;
	fresh.vm_slot = *slot;
	mark_queued(&fresh, p);
	if (bpf_map_update_elem(&threads, &tid, &fresh, BPF_NOEXIST) == 0)
		pid_mark(&watched_tids, tid, true);
	return 0;
}
