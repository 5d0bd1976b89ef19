/* The loader's side of a pid-space bitmap (bpf/pid_bits.h): the watched
 * thread ids of the CPU programs, the processes with watched disks of the
 * disk programs. The kernel tests a bit before any hash lookup. The bitmap
 * is shared memory (an mmap of the BPF array), changed with atomic and/or so
 * that neither side loses the other's updates to the same word. */
#ifndef VIGIL_PID_BITMAP_H
#define VIGIL_PID_BITMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bpf_map;

struct pid_bitmap {
	uint64_t *words;
	size_t nwords;
	size_t mapped_len;
};

/* Sizes the map for kernel.pid_max. Call before the skeleton is loaded. */
int pid_bitmap_size(struct bpf_map *map);

/* Maps the loaded array. 0, or a negative errno. */
int pid_bitmap_map(struct pid_bitmap *b, struct bpf_map *map);
void pid_bitmap_unmap(struct pid_bitmap *b);

/* Ids beyond the bitmap are ignored: the kernel side then looks them up in
 * its hash directly. */
void pid_bitmap_set(struct pid_bitmap *b, pid_t id);
void pid_bitmap_clear(struct pid_bitmap *b, pid_t id);

#endif
