/* The loader's side of the kernel's table of watched threads (the threads
 * and threads_used maps of bpf/cpu_sched.bpf.c, described in cpu_sched.h).
 * Both are shared memory: an mmap of BPF arrays. The kernel claims entries
 * for new threads of watched processes at the same time as the loader
 * claims entries for threads it registers, so entries are claimed with
 * compare-and-swap on the tid and published with an atomic or of READY;
 * only the loader frees them. Kept apart from the BPF plumbing so that the
 * table logic can be tested on plain memory. */
#ifndef VIGIL_THREAD_TABLE_H
#define VIGIL_THREAD_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h>

#include "cpu_sched.h"

struct thread_table {
	struct vigil_thread *entries; /* VIGIL_THREAD_ENTRIES */
	uint64_t *used;               /* VIGIL_THREAD_USED_WORDS */
};

/* The lowest position holding tid, ready or not, or -1. The kernel uses
 * the first ready one in probe order, which is the lowest position. */
long thread_table_first(const struct thread_table *t, uint32_t tid);

/* The position of tid's ready entry that the kernel uses, or -1. */
long thread_table_find(const struct thread_table *t, uint32_t tid);

/* Claims a free entry for init->tid, writes init into it and publishes it.
 * Returns its position, or -ENOSPC when the probe window is full. */
long thread_table_insert(struct thread_table *t, const struct vigil_thread *init);

/* Zeroes the entry and frees it for a new claim. */
void thread_table_free(struct thread_table *t, uint32_t pos);

/* The first position in use at or after from, or -1. */
long thread_table_next_used(const struct thread_table *t, uint32_t from);

/* A consistent-enough copy of an entry: each field is read atomically on
 * its own (the kernel writes them one by one; every counter only grows). */
void thread_table_read(const struct thread_table *t, uint32_t pos, struct vigil_thread *out);

/* Changes the bucket of a ready entry; the kernel never writes these. */
void thread_table_assign(struct thread_table *t, uint32_t pos, uint32_t vm_slot, int32_t vcpu);

#endif
