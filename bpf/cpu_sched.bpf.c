// SPDX-License-Identifier: GPL-2.0
/* CPU accounting of VM threads from the scheduler tracepoints.
 *
 * Each watched thread (threads map, filled by the loader and, for new threads
 * of watched processes, by sched_wakeup_new) carries two timestamps: when it
 * last got on a CPU, and when it last became runnable. Every transition closes
 * the open interval into the per-CPU counters of the thread's (VM slot, vCPU)
 * bucket. Threads that are not watched cost one hash lookup per event. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cpu_sched.h"

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
	return BPF_CORE_READ(task, __state);
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

/* Becoming runnable. A wakeup can reach a thread that is still on CPU (it was
 * woken before it got to sleep); that is not waiting. */
static __always_inline void mark_queued(struct vigil_thread *t, __u64 now)
{
	if (!t->queued_since && !t->running_since)
		t->queued_since = now;
}

static __always_inline void switch_out(struct task_struct *prev, bool preempt, __u64 now)
{
	__u32 tid = prev->pid;
	struct vigil_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct vigil_cpu_counters *c;
	long state;

	if (!t)
		return;
	c = bucket_of(t);
	if (c && t->running_since)
		c->on_cpu_ns += now - t->running_since;
	t->running_since = 0;

	/* The last switch of an exiting thread: nothing will remove the entry
	 * later, and its tid may be reused by an unrelated task. */
	state = task_state(prev);
	if (state & TASK_DEAD) {
		bpf_map_delete_elem(&threads, &tid);
		return;
	}
	/* Same rule as the kernel's nivcsw: preempted, or yielded while
	 * runnable. Either way the thread stays on the run queue. */
	if (preempt || state == TASK_RUNNING) {
		t->queued_since = now;
		if (c)
			c->nr_preempted++;
	} else {
		t->queued_since = 0;
	}
}

static __always_inline void switch_in(struct task_struct *next, __u64 now)
{
	__u32 tid = next->pid;
	struct vigil_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct vigil_cpu_counters *c;

	if (!t)
		return;
	if (t->queued_since) {
		c = bucket_of(t);
		if (c)
			c->wait_ns += now - t->queued_since;
		t->queued_since = 0;
	}
	t->running_since = now;
}

/* The fourth argument (prev_state) only exists since 5.18; the state is read
 * from prev instead, which works with every version of the tracepoint. */
SEC("tp_btf/sched_switch")
int BPF_PROG(vigil_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	/* One clock read for both sides: prev's slice ends where next's begins. */
	__u64 now = bpf_ktime_get_ns();

	switch_out(prev, preempt, now);
	switch_in(next, now);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(vigil_sched_wakeup, struct task_struct *p)
{
	__u32 tid = p->pid;
	struct vigil_thread *t = bpf_map_lookup_elem(&threads, &tid);

	if (t)
		mark_queued(t, bpf_ktime_get_ns());
	return 0;
}

/* A new thread of a watched process is counted from its first wakeup as a
 * non-vCPU thread; the loader reassigns it once it knows it is a vCPU. */
SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(vigil_sched_wakeup_new, struct task_struct *p)
{
	__u32 tid = p->pid, tgid = p->tgid;
	__u64 now = bpf_ktime_get_ns();
	struct vigil_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct vigil_thread fresh = { .vcpu = VIGIL_VCPU_NONE, .queued_since = now };
	__u32 *slot;

	if (t) {
		mark_queued(t, now);
		return 0;
	}
	slot = bpf_map_lookup_elem(&processes, &tgid);
	if (!slot)
		return 0;
	fresh.vm_slot = *slot;
	bpf_map_update_elem(&threads, &tid, &fresh, BPF_NOEXIST);
	return 0;
}
