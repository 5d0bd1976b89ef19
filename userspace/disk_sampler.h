/* A VM's virtual disks in the sampler: finds QEMU's descriptors of each disk
 * image, has the kernel count them (userspace/disk_io.c), and turns the
 * counts into per-interval disk.* samples tagged dev=vda, .... */
#ifndef VIGIL_DISK_SAMPLER_H
#define VIGIL_DISK_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "discovery.h"
#include "disk_io_loader.h"
#include "vigil.pb-c.h"

struct disk_state {
	struct vm_disk disk;
	char real_path[512];         /* the image as /proc/PID/fd shows it */
	struct disk_reading last;    /* cumulative, as last read */
};

#define VM_MAX_DISK_FDS 64

struct vm_disks {
	struct disk_state v[VM_MAX_DISKS];
	unsigned n;
	/* The descriptors registered with the kernel at the last sync, so that
	 * one QEMU closed (and may reuse for another file) is dropped. */
	int fds[VM_MAX_DISK_FDS];
	unsigned n_fds;
};

/* Follows the target's disk list and (re)registers QEMU's descriptors of
 * each image, which QEMU may reopen at any time. dp may be NULL. */
void vm_disks_sync(struct vm_disks *s, struct disk_probe *dp, const struct vm_target *t, uint32_t vm_slot);

void vm_disks_release(struct vm_disks *s, struct disk_probe *dp, pid_t pid, uint32_t vm_slot);

/* disk.{read,write}_{bytes,ops} and the p50/p99 latency of the interval's
 * calls, per disk. Returns 0 or -ENOMEM. */
int vm_disks_emit(struct vm_disks *s, struct disk_probe *dp, uint32_t vm_slot, Vigil__VmSamples *vm);

/* The q-quantile (0 < q <= 1) of a log2 histogram of nanoseconds (bucket i:
 * [2^i, 2^(i+1))), in microseconds, taking the middle of the bucket it
 * falls in; -1 for an empty histogram. */
double log2_hist_quantile_us(const uint64_t *hist, unsigned slots, double q);

#endif
