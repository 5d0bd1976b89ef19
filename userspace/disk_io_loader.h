/* Loader and reader for bpf/disk_io.bpf.c: per-disk bytes, operations and a
 * log2 latency histogram of QEMU's reads and writes on its disk images,
 * whether made by system calls or through io_uring. */
#ifndef VIGIL_DISK_IO_LOADER_H
#define VIGIL_DISK_IO_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DISK_LAT_SLOTS 32 /* bucket i: calls that took [2^i, 2^(i+1)) ns */

struct disk_probe;

/* Cumulative figures of one disk since it was first seen; [0] reads, [1]
 * writes. */
struct disk_reading {
	uint64_t bytes[2];
	uint64_t ops[2];
	uint64_t lat[2][DISK_LAT_SLOTS];
};

/* Opens, loads and attaches. On a kernel where the io_uring programs cannot
 * be loaded it logs that once and counts system calls only. On failure a
 * negative errno and a message naming the failed step in err. */
int disk_probe_open(struct disk_probe **out, char *err, size_t errlen);
void disk_probe_close(struct disk_probe *p);

/* Counts the reads and writes of process tgid on descriptor fd (system
 * calls and io_uring requests) for (vm_slot, disk). */
int disk_probe_watch_fd(struct disk_probe *p, pid_t tgid, int fd, uint32_t vm_slot, uint32_t disk);

/* Stops counting descriptor fd of process tgid (closed, or reused for
 * another file). A descriptor not watched is not an error. */
int disk_probe_unwatch_fd(struct disk_probe *p, pid_t tgid, int fd);

/* Stops counting process tgid and forgets everything of vm_slot. */
int disk_probe_forget(struct disk_probe *p, pid_t tgid, uint32_t vm_slot);

/* The disk's figures; all zero if it has not been used yet. */
int disk_probe_read(struct disk_probe *p, uint32_t vm_slot, uint32_t disk, struct disk_reading *out);

#endif
