/* Types shared by bpf/disk_io.bpf.c and its loader userspace/disk_io.c.
 *
 * A VM's virtual disk is a file QEMU opened; the loader tells the kernel
 * which (QEMU tgid, fd) is which (VM slot, disk). The programs time every
 * read or write on those descriptors and add bytes, operations and a log2
 * latency histogram to the disk's per-CPU counters, from two hooks:
 *  - sys_enter/sys_exit: read/write-family system calls, which is how
 *    QEMU's thread pool (aio=threads, any cache mode) does its I/O;
 *  - io_uring_submit_req/io_uring_complete: io_uring read and write
 *    requests (QEMU io='io_uring'), timed from submission to completion.
 * Both feed the same counters; an I/O goes through one or the other, never
 * both. */
#ifndef VIGIL_DISK_IO_H
#define VIGIL_DISK_IO_H

#define VIGIL_DISK_MAX_FDS     8192
#define VIGIL_DISK_MAX_PROCS   4096
#define VIGIL_DISK_MAX_DISKS   4096
#define VIGIL_DISK_MAX_INFLIGHT 16384
#define VIGIL_DISK_LAT_SLOTS   32   /* log2 buckets of nanoseconds */

/* disk_fds key: a descriptor of a watched QEMU process. */
struct vigil_disk_fd {
	__u32 tgid;
	__s32 fd;
};

/* disk_fds value, and cpu counters key: a VM slot's disk index. */
struct vigil_disk_key {
	__u32 vm_slot;
	__u32 disk;
};

/* A call in progress (per thread), or an io_uring request in flight (per
 * request). */
struct vigil_disk_call {
	struct vigil_disk_key disk;
	__u32 is_write;
	__u32 pad;
	__u64 start_ns;
};

/* disk_totals value (per CPU; the loader sums). Cumulative. */
struct vigil_disk_counters {
	__u64 bytes[2];                          /* [0] read, [1] write */
	__u64 ops[2];
	__u64 lat[2][VIGIL_DISK_LAT_SLOTS];      /* operations by log2(ns) */
};

#endif
