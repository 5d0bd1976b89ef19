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
#include "log.h"
#include "map_util.h"
#include "pid_bitmap.h"

_Static_assert(DISK_LAT_SLOTS == VIGIL_DISK_LAT_SLOTS, "latency histogram sizes differ");

struct disk_probe {
	struct disk_io *skel;
	int fds_fd, totals_fd;
	struct pid_bitmap tgids; /* processes with a watched disk */
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

/* Opens and loads the programs, the io_uring pair only if with_uring. */
static int load_programs(struct disk_probe *p, bool with_uring)
{
	int rc;

	p->skel = disk_io__open();
	if (!p->skel)
		return errno ? -errno : -EINVAL;
	bpf_program__set_autoload(p->skel->progs.vigil_disk_uring_submit, with_uring);
	bpf_program__set_autoload(p->skel->progs.vigil_disk_uring_complete, with_uring);
	bpf_map__set_autocreate(p->skel->maps.uring_inflight, with_uring);
	rc = pid_bitmap_size(p->skel->maps.disk_tgids);
	if (!rc)
		rc = disk_io__load(p->skel);
	if (!rc)
		rc = pid_bitmap_map(&p->tgids, p->skel->maps.disk_tgids);
	if (rc) {
		disk_io__destroy(p->skel);
		p->skel = NULL;
	}
	return rc;
}

/* Loads everything, or, when the io_uring programs cannot be, the system
 * call programs alone: the other disk modes keep being counted, and the
 * operator is told once which one is not. */
static int load_with_fallback(struct disk_probe *p)
{
	const char *why = "this kernel has no io_uring_submit_req/io_uring_complete tracepoints";
	int rc;

	if (kernel_has_uring_tracepoints()) {
		rc = load_programs(p, true);
		if (!rc)
			return 0;
		why = "its programs did not load on this kernel";
	}
	rc = load_programs(p, false);
	if (!rc)
		log_warn("disk I/O through io_uring (QEMU io='io_uring') not counted: %s; "
			 "read/write system calls still are", why);
	return rc;
}

int disk_probe_open(struct disk_probe **out, char *err, size_t errlen)
{
	struct disk_probe *p = calloc(1, sizeof(*p));
	const char *step = "allocating";
	int rc = -ENOMEM;

	*out = NULL;
	if (!p)
		goto fail;
	step = "loading the disk programs";
	rc = load_with_fallback(p);
	if (rc)
		goto fail;
	step = "attaching the disk programs to sys_enter/sys_exit and io_uring";
	rc = disk_io__attach(p->skel);
	if (rc)
		goto fail;
	step = "counting possible CPUs";
	rc = libbpf_num_possible_cpus();
	if (rc < 0)
		goto fail;
	p->ncpus = rc;
	rc = -ENOMEM;
	step = "allocating";
	p->percpu = calloc((size_t)p->ncpus, sizeof(*p->percpu));
	if (!p->percpu)
		goto fail;
	p->fds_fd = bpf_map__fd(p->skel->maps.disk_fds);
	p->totals_fd = bpf_map__fd(p->skel->maps.disk_totals);
	*out = p;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", step, strerror(-rc));
	disk_probe_close(p);
	return rc;
}

void disk_probe_close(struct disk_probe *p)
{
	if (!p)
		return;
	pid_bitmap_unmap(&p->tgids);
	disk_io__destroy(p->skel);
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
