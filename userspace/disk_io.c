/* Loader and reader for bpf/disk_io.bpf.c. */
#include "disk_io_loader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "disk_io.h"
#include "disk_io.skel.h"
#include "bpf_loader.h"
#include "log.h"
#include "map_util.h"
#include "pid_bitmap.h"

_Static_assert(DISK_LAT_SLOTS == VIGIL_DISK_LAT_SLOTS, "latency histogram sizes differ");

struct disk_probe {
	struct disk_io *skel;
	int fds_fd, totals_fd;
	struct pid_bitmap tgids; /* processes with a watched disk */
	bool with_uring;         /* the io_uring programs are loaded */
	int ncpus;
	struct vigil_disk_counters *percpu;
};

/* Whether tp_btf can find the io_uring tracepoints: a kernel built without
 * io_uring, or older than io_uring_submit_req (about 5.19), lacks them. */
static bool kernel_has_uring_tracepoints(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool found;

	if (!vmlinux)
		return false;
	found = btf__find_by_name_kind(vmlinux, "btf_trace_io_uring_submit_req", BTF_KIND_TYPEDEF) > 0 &&
		btf__find_by_name_kind(vmlinux, "btf_trace_io_uring_complete", BTF_KIND_TYPEDEF) > 0;
	btf__free(vmlinux);
	return found;
}

static struct bpf_object_skeleton *open_skeleton(void *ctx)
{
	struct disk_probe *p = ctx;

	p->skel = disk_io__open();
	return p->skel ? p->skel->skeleton : NULL;
}

/* The io_uring pair only if with_uring. */
static int choose_programs(void *ctx)
{
	struct disk_probe *p = ctx;

	bpf_program__set_autoload(p->skel->progs.vigil_disk_uring_submit, p->with_uring);
	bpf_program__set_autoload(p->skel->progs.vigil_disk_uring_complete, p->with_uring);
	bpf_map__set_autocreate(p->skel->maps.uring_inflight, p->with_uring);
	return pid_bitmap_size(p->skel->maps.disk_tgids);
}

static int map_process_bitmap(void *ctx)
{
	struct disk_probe *p = ctx;

	return pid_bitmap_map(&p->tgids, p->skel->maps.disk_tgids);
}

static const struct bpf_loader_ops disk_io_ops = {
	.program = "disk_io",
	.open = open_skeleton,
	.configure = choose_programs,
	.configure_step = "choosing the programs and sizing the process bitmap",
	.prepare = map_process_bitmap,
	.prepare_step = "mapping the process bitmap",
	.load_hint = " (is this root? is BTF at /sys/kernel/btf/vmlinux?)",
};

/* Frees what a start made, so that it can be tried again. */
static void unload(struct disk_probe *p)
{
	pid_bitmap_unmap(&p->tgids);
	disk_io__destroy(p->skel);
	p->skel = NULL;
}

/* Starts everything, or, when the io_uring programs cannot be loaded or
 * attached, the system call programs alone: the other disk modes keep being
 * counted, and the operator is told once which one is not. Returns as
 * bpf_loader_start. */
static int start_with_fallback(struct disk_probe *p, char *err, size_t errlen)
{
	char why[600] = "this kernel has no io_uring_submit_req/io_uring_complete tracepoints", failed[512];
	int rc;

	if (kernel_has_uring_tracepoints()) {
		p->with_uring = true;
		rc = bpf_loader_start(&disk_io_ops, p, failed, sizeof(failed));
		if (rc > 0)
			return rc;
		snprintf(why, sizeof(why), "its programs did not start on this kernel (%s)", failed);
		unload(p);
	}
	p->with_uring = false;
	rc = bpf_loader_start(&disk_io_ops, p, err, errlen);
	if (rc > 0)
		log_warn("disk I/O through io_uring (QEMU io='io_uring') not counted: %s; "
			 "read/write system calls still are", why);
	return rc;
}

int disk_probe_open(struct disk_probe **out, char *err, size_t errlen)
{
	struct disk_probe *p = calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!p) {
		snprintf(err, errlen, "allocating the disk probe: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	rc = start_with_fallback(p, err, errlen);
	if (rc < 0) {
		disk_probe_close(p);
		return rc;
	}
	p->ncpus = rc;
	p->percpu = calloc((size_t)p->ncpus, sizeof(*p->percpu));
	if (!p->percpu) {
		snprintf(err, errlen, "disk_io: allocating the per-CPU read buffer: %s", strerror(ENOMEM));
		disk_probe_close(p);
		return -ENOMEM;
	}
	p->fds_fd = bpf_map__fd(p->skel->maps.disk_fds);
	p->totals_fd = bpf_map__fd(p->skel->maps.disk_totals);
	*out = p;
	return 0;
}

void disk_probe_close(struct disk_probe *p)
{
	if (!p)
		return;
	unload(p);
	free(p->percpu);
	free(p);
}

int disk_probe_watch_fd(struct disk_probe *p, pid_t tgid, int fd, uint32_t vm_slot, uint32_t disk)
{
	struct vigil_disk_fd key = { .tgid = (__u32)tgid, .fd = fd };
	struct vigil_disk_key value = { .vm_slot = vm_slot, .disk = disk };

	if (bpf_map_update_elem(p->fds_fd, &key, &value, BPF_ANY))
		return -errno;
	pid_bitmap_set(&p->tgids, tgid);
	return 0;
}

int disk_probe_unwatch_fd(struct disk_probe *p, pid_t tgid, int fd)
{
	struct vigil_disk_fd key = { .tgid = (__u32)tgid, .fd = fd };

	return map_delete_key(p->fds_fd, &key);
}

int disk_probe_forget(struct disk_probe *p, pid_t tgid, uint32_t vm_slot)
{
	void *keys = NULL;
	int n, rc = 0;

	pid_bitmap_clear(&p->tgids, tgid);

	n = map_keys_list(p->fds_fd, sizeof(struct vigil_disk_fd), VIGIL_DISK_MAX_FDS, &keys);
	for (int i = 0; i < n && !rc; i++) {
		const struct vigil_disk_fd *k = (const struct vigil_disk_fd *)keys + i;

		if (k->tgid == (__u32)tgid)
			rc = map_delete_key(p->fds_fd, k);
	}
	free(keys);
	keys = NULL;
	n = map_keys_list(p->totals_fd, sizeof(struct vigil_disk_key), VIGIL_DISK_MAX_DISKS, &keys);
	for (int i = 0; i < n && !rc; i++) {
		const struct vigil_disk_key *k = (const struct vigil_disk_key *)keys + i;

		if (k->vm_slot == vm_slot)
			rc = map_delete_key(p->totals_fd, k);
	}
	free(keys);
	return n < 0 ? n : rc;
}

int disk_probe_read(struct disk_probe *p, uint32_t vm_slot, uint32_t disk, struct disk_reading *out)
{
	struct vigil_disk_key key = { .vm_slot = vm_slot, .disk = disk };

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(p->totals_fd, &key, p->percpu))
		return errno == ENOENT ? 0 : -errno;
	for (int cpu = 0; cpu < p->ncpus; cpu++) {
		const struct vigil_disk_counters *c = &p->percpu[cpu];

		for (int d = 0; d < 2; d++) {
			out->bytes[d] += c->bytes[d];
			out->ops[d] += c->ops[d];
			for (int s = 0; s < DISK_LAT_SLOTS; s++)
				out->lat[d][s] += c->lat[d][s];
		}
	}
	return 0;
}
