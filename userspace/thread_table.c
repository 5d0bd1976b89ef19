#include "thread_table.h"

#include <errno.h>

static uint32_t load32(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static uint64_t load64(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void mark_used(struct thread_table *t, uint32_t pos, bool used)
{
	uint64_t bit = 1ULL << (pos % 64);

	if (used)
		__atomic_fetch_or(&t->used[pos / 64], bit, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(&t->used[pos / 64], ~bit, __ATOMIC_SEQ_CST);
}

long thread_table_first(const struct thread_table *t, uint32_t tid)
{
	uint32_t home = vigil_thread_home(tid);

	for (uint32_t i = 0; i < VIGIL_THREAD_PROBES; i++)
		if (load32(&t->entries[home + i].tid) == tid)
			return home + i;
	return -1;
}

long thread_table_find(const struct thread_table *t, uint32_t tid)
{
	long pos = tid ? thread_table_first(t, tid) : -1;

	if (pos < 0 || !(load32(&t->entries[pos].flags) & VIGIL_THREAD_READY))
		return -1;
	return pos;
}

/* Takes entry pos for tid if it is free. */
static bool claim(struct thread_table *t, uint32_t pos, uint32_t tid)
{
	__u32 expected = 0;

	return __atomic_compare_exchange_n(&t->entries[pos].tid, &expected, tid, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_RELAXED);
}

long thread_table_insert(struct thread_table *t, const struct vigil_thread *init)
{
	uint32_t home = vigil_thread_home(init->tid);

	if (!init->tid)
		return -EINVAL;
	for (uint32_t i = 0; i < VIGIL_THREAD_PROBES; i++) {
		uint32_t pos = home + i;
		struct vigil_thread *e = &t->entries[pos];

		if (!claim(t, pos, init->tid))
			continue;
		/* The kernel reads nothing but tid and flags until READY. */
		e->vm_slot = init->vm_slot;
		e->vcpu = init->vcpu;
		e->exec_ns = init->exec_ns;
		e->delay_ns = init->delay_ns;
		e->nivcsw = init->nivcsw;
		e->minflt = init->minflt;
		e->majflt = init->majflt;
		e->queued_since = init->queued_since;
		e->queued_pcount = init->queued_pcount;
		mark_used(t, pos, true);
		__atomic_fetch_or(&e->flags, VIGIL_THREAD_READY, __ATOMIC_SEQ_CST);
		return pos;
	}
	return -ENOSPC;
}

void thread_table_free(struct thread_table *t, uint32_t pos)
{
	struct vigil_thread *e = &t->entries[pos];

	__atomic_store_n(&e->flags, 0, __ATOMIC_SEQ_CST);
	e->vm_slot = 0;
	e->vcpu = 0;
	e->exec_ns = e->delay_ns = e->nivcsw = e->minflt = e->majflt = 0;
	e->queued_since = e->queued_pcount = 0;
	/* Unmarked before the tid is cleared: a claim can only follow the
	 * clear, and its own mark must not be undone. */
	mark_used(t, pos, false);
	__atomic_store_n(&e->tid, 0, __ATOMIC_SEQ_CST);
}

long thread_table_next_used(const struct thread_table *t, uint32_t from)
{
	for (uint32_t w = from / 64; w < VIGIL_THREAD_USED_WORDS; w++) {
		uint64_t bits = __atomic_load_n(&t->used[w], __ATOMIC_ACQUIRE);

		if (w == from / 64)
			bits &= ~0ULL << (from % 64);
		if (bits)
			return (long)w * 64 + __builtin_ctzll(bits);
	}
	return -1;
}

void thread_table_read(const struct thread_table *t, uint32_t pos, struct vigil_thread *out)
{
	const struct vigil_thread *e = &t->entries[pos];

	out->tid = load32(&e->tid);
	out->flags = load32(&e->flags);
	out->vm_slot = load32(&e->vm_slot);
	out->vcpu = (__s32)load32((const __u32 *)&e->vcpu);
	out->exec_ns = load64(&e->exec_ns);
	out->delay_ns = load64(&e->delay_ns);
	out->nivcsw = load64(&e->nivcsw);
	out->minflt = load64(&e->minflt);
	out->majflt = load64(&e->majflt);
	out->queued_since = load64(&e->queued_since);
	out->queued_pcount = load64(&e->queued_pcount);
}

void thread_table_assign(struct thread_table *t, uint32_t pos, uint32_t vm_slot, int32_t vcpu)
{
	__atomic_store_n(&t->entries[pos].vm_slot, vm_slot, __ATOMIC_RELAXED);
	__atomic_store_n(&t->entries[pos].vcpu, vcpu, __ATOMIC_RELAXED);
}
