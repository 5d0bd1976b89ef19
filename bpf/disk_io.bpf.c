// SPDX-License-Identifier: GPL-2.0
/* Per-disk I/O of VMs: QEMU's read/write system calls and its io_uring read
 * and write requests on its disk image files. See disk_io.h.
 *
 * Every system call of the host passes sys_enter; one that is not a read or
 * write, or not on a watched process, costs a compare or one hash lookup.
 * Every io_uring submission passes io_uring_submit_req (an opcode compare
 * first) and every completion io_uring_complete (one hash lookup). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "disk_io.h"
#include "pid_bits.h"

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

/* io_uring opcodes newer than some kernels this runs on (6.15). Opcodes are
 * UAPI and never renumbered, and a kernel rejects an opcode it does not know
 * before the submit tracepoint, so the plain numbers are safe everywhere;
 * a CO-RE relocation of an enumerator the kernel lacks would poison the
 * program instead. */
#define URING_OP_READV_FIXED  60
#define URING_OP_WRITEV_FIXED 61

/* IOSQE_FIXED_FILE: the kernel copies the SQE flags into req->flags at the
 * same bit positions (UAPI). */
#define URING_FIXED_FILE (1ULL << IOSQE_FIXED_FILE_BIT)

/* The processes that have a watched disk (pid_bits.h): a read or write of
 * any other process stops at this bit test. */
VIGIL_PID_BITMAP(disk_tgids);

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

/* io_uring requests in flight, by request address. LRU: a request whose
 * completion is never seen (its CQE overflowed, or the probe attached
 * between submission and completion) is evicted by newer ones instead of
 * filling the map; a recycled request address simply overwrites it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VIGIL_DISK_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct vigil_disk_call);
} uring_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, VIGIL_DISK_MAX_DISKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vigil_disk_key);
	__type(value, struct vigil_disk_counters);
} disk_totals SEC(".maps");

/* The disk behind descriptor fd of process tgid, or NULL if not watched. */
static __always_inline struct vigil_disk_key *watched_disk(__u32 tgid, __s32 fd)
{
	struct vigil_disk_fd key = { .tgid = tgid, .fd = fd };

	if (!pid_maybe_in(&disk_tgids, tgid))
		return NULL;
	return bpf_map_lookup_elem(&disk_fds, &key);
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

/* Adds a finished call or request to its disk: result is the bytes moved,
 * or a negative errno, which counts neither bytes nor an operation. */
static __always_inline void account(const struct vigil_disk_call *call, long result)
{
	struct vigil_disk_counters *c;
	__u32 dir = call->is_write ? 1 : 0, slot;

	if (result < 0)
		return;
	c = totals_of(&call->disk);
	if (!c)
		return;
	slot = log2_slot(bpf_ktime_get_ns() - call->start_ns);
	c->bytes[dir] += result;
	c->ops[dir]++;
	if (slot < VIGIL_DISK_LAT_SLOTS)
		c->lat[dir][slot]++;
}

/* --- read/write system calls (thread pool, any cache mode) ------------- */

/* 1 for a write, 0 for a read, -1 for any other call. */
static __always_inline int syscall_direction(long id)
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
	int dir = syscall_direction(id);
	__u64 pid_tgid;
	struct vigil_disk_key *disk;
	struct vigil_disk_call call = {};
	__u32 tid;

	if (dir < 0)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	disk = watched_disk(pid_tgid >> 32, (__s32)regs->di);
	if (!disk)
		return 0;
	call.disk = *disk;
	call.is_write = dir;
	call.start_ns = bpf_ktime_get_ns();
	tid = (__u32)pid_tgid;
	bpf_map_update_elem(&inflight, &tid, &call, BPF_ANY);
	return 0;
}

/* Every system call of the host passes here: only a read or write of a
 * process with a watched disk can have a call in flight. orig_ax keeps the
 * call's number (x86-64, like the NR_ values). */
SEC("tp_btf/sys_exit")
int BPF_PROG(vigil_disk_exit, struct pt_regs *regs, long ret)
{
	__u64 pid_tgid;
	__u32 tid;
	struct vigil_disk_call *call;

	if (syscall_direction(regs->orig_ax) < 0)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if (!pid_maybe_in(&disk_tgids, pid_tgid >> 32))
		return 0;
	tid = (__u32)pid_tgid;
	call = bpf_map_lookup_elem(&inflight, &tid);
	if (!call)
		return 0;
	account(call, ret);
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

/* --- io_uring requests (QEMU io='io_uring') ---------------------------- */

/* 1 for a write, 0 for a read, -1 for any other request. */
static __always_inline int uring_direction(__u8 op)
{
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READV) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ_FIXED) || op == URING_OP_READV_FIXED)
		return 0;
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITEV) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITE) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITE_FIXED) || op == URING_OP_WRITEV_FIXED)
		return 1;
	return -1;
}

/* Runs in the submitting task, so the current tgid is the process that owns
 * the descriptor (with SQPOLL, the poller is a thread of that process too).
 * req->cqe.fd holds sqe->fd from request init on; req->file is only looked
 * up later, at issue. */
SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(vigil_disk_uring_submit, struct io_kiocb *req)
{
	int dir = uring_direction(req->opcode);
	struct vigil_disk_key *disk;
	struct vigil_disk_call call = {};
	__u64 key;

	if (dir < 0)
		return 0;
	/* A registered (fixed) file's fd is an index into the ring's file
	 * table, not a descriptor: not counted. QEMU does not register its
	 * image files. */
	if (req->flags & URING_FIXED_FILE)
		return 0;
	disk = watched_disk(bpf_get_current_pid_tgid() >> 32, req->cqe.fd);
	if (!disk)
		return 0;
	call.disk = *disk;
	call.is_write = dir;
	call.start_ns = bpf_ktime_get_ns();
	key = (__u64)(unsigned long)req;
	bpf_map_update_elem(&uring_inflight, &key, &call, BPF_ANY);
	return 0;
}

/* The request is the second argument in every kernel that has
 * io_uring_submit_req (the later ones are the result, or the CQE). The
 * result is read from the request itself, the same on all of them. It may
 * run in any task (an iou-wrk worker, task work), hence the key by address.
 * CQEs posted without a request (req NULL) never match. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(vigil_disk_uring_complete, void *ring, void *req)
{
	__u64 key = (__u64)(unsigned long)req;
	struct vigil_disk_call *call = bpf_map_lookup_elem(&uring_inflight, &key);

	if (!call)
		return 0;
	account(call, BPF_CORE_READ((struct io_kiocb *)req, cqe.res));
	bpf_map_delete_elem(&uring_inflight, &key);
	return 0;
}
