/* The loader's side of watched_tids (bpf/cpu_sched.h): a bitmap of watched
 * thread ids that the kernel programs test before any hash lookup. It is
 * shared memory (an mmap of the BPF array), changed with atomic and/or so
 * that neither side loses the other's updates to the same word. */
#ifndef VIGIL_TID_BITMAP_H
#define VIGIL_TID_BITMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bpf_map;

struct tid_bitmap {
	uint64_t *words;
	size_t nwords;
	size_t mapped_len;
};

/* Sizes the map for kernel.pid_max. Call before the skeleton is loaded. */
int tid_bitmap_size(struct bpf_map *map);

/* Maps the loaded array. 0, or a negative errno. */
int tid_bitmap_map(struct tid_bitmap *b, struct bpf_map *map);
void tid_bitmap_unmap(struct tid_bitmap *b);

/* Thread ids beyond the bitmap are ignored: the kernel side then looks them
 * up in the hash directly. */
void tid_bitmap_set(struct tid_bitmap *b, pid_t tid);
void tid_bitmap_clear(struct tid_bitmap *b, pid_t tid);

#endif
