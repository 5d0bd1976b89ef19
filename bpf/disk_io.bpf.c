// SPDX-License-Identifier: GPL-2.0
/* Per-disk I/O of VMs from QEMU's system calls on its disk image files.
 * See disk_io.h. Every system call of the host passes sys_enter; one that is
 * not a read or write, or not on a watched process, costs a compare or one
 * hash lookup. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "disk_io.h"

char LICENSE[] SEC("license") = "GPL";

/* x86_64 system call numbers of the calls QEMU uses for file I/O. */
#define NR_READ     0
#define NR_WRITE    1
#define NR_PREAD64  17
#define NR_PWRITE64 18
#define NR_READV    19
#define NR_WRITEV   20
#define NR_PREADV   295
#define NR_PWRITEV  296
#define NR_PREADV2  327
#define NR_PWRITEV2 328

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIGIL_DISK_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} disk_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIGIL_DISK_MAX_FDS);
	__type(key, struct vigil_disk_fd);
	__type(value, struct vigil_disk_key);
} disk_fds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIGIL_DISK_MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, struct vigil_disk_call);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, VIGIL_DISK_MAX_DISKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vigil_disk_key);
	__type(value, struct vigil_disk_counters);
} disk_totals SEC(".maps");

/* 1 for a write, 0 for a read, -1 for any other call. */
static __always_inline int io_direction(long id)
{
	switch (id) {
	case NR_READ: case NR_PREAD64: case NR_READV: case NR_PREADV: case NR_PREADV2:
		return 0;
	case NR_WRITE: case NR_PWRITE64: case NR_WRITEV: case NR_PWRITEV: case NR_PWRITEV2:
		return 1;
	}
	return -1;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(vigil_disk_enter, struct pt_regs *regs, long id)
{
	int dir = io_direction(id);
	__u64 pid_tgid;
	struct vigil_disk_fd key;
	struct vigil_disk_key *disk;
	struct vigil_disk_call call = {};

	if (dir < 0)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	key.tgid = pid_tgid >> 32;
	if (!bpf_map_lookup_elem(&disk_procs, &key.tgid))
		return 0;
	key.fd = (__s32)regs->di;
	disk = bpf_map_lookup_elem(&disk_fds, &key);
	if (!disk)
		return 0;
	call.disk = *disk;
	call.is_write = dir;
	call.start_ns = bpf_ktime_get_ns();
	__u32 tid = (__u32)pid_tgid;
	bpf_map_update_elem(&inflight, &tid, &call, BPF_ANY);
	return 0;
}

static __always_inline __u32 log2_slot(__u64 ns)
{
	__u32 slot = 0;

	for (int i = 0; i < VIGIL_DISK_LAT_SLOTS - 1; i++) {
		if (ns < 2)
			break;
		ns >>= 1;
		slot++;
	}
	return slot;
}

static __always_inline struct vigil_disk_counters *totals_of(const struct vigil_disk_key *key)
{
	struct vigil_disk_counters *c = bpf_map_lookup_elem(&disk_totals, key);
	static const struct vigil_disk_counters zero;

	if (c)
		return c;
	bpf_map_update_elem(&disk_totals, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&disk_totals, key);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(vigil_disk_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vigil_disk_call *call = bpf_map_lookup_elem(&inflight, &tid);
	struct vigil_disk_counters *c;
	__u32 dir, slot;

	if (!call)
		return 0;
	c = totals_of(&call->disk);
	dir = call->is_write ? 1 : 0;
	if (c && ret >= 0) {
		slot = log2_slot(bpf_ktime_get_ns() - call->start_ns);
		c->bytes[dir] += ret;
		c->ops[dir]++;
		if (slot < VIGIL_DISK_LAT_SLOTS)
			c->lat[dir][slot]++;
	}
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}
