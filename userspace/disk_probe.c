/* Loader and reader for bpf/disk_io.bpf.c. */
#include "disk_probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "disk_io.h"
#include "disk_io.skel.h"
#include "map_util.h"

_Static_assert(DISK_LAT_SLOTS == VIGIL_DISK_LAT_SLOTS, "latency histogram sizes differ");

struct disk_probe {
	struct disk_io *skel;
	int procs_fd, fds_fd, totals_fd;
	int ncpus;
	struct vigil_disk_counters *percpu;
};

int disk_probe_open(struct disk_probe **out, char *err, size_t errlen)
{
	struct disk_probe *p = calloc(1, sizeof(*p));
	const char *step = "allocating";
	int rc = -ENOMEM;

	*out = NULL;
	if (!p)
		goto fail;
	step = "loading the disk programs";
	p->skel = disk_io__open_and_load();
	if (!p->skel) {
		rc = errno ? -errno : -EINVAL;
		goto fail;
	}
	step = "attaching the disk programs to sys_enter/sys_exit";
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
	p->procs_fd = bpf_map__fd(p->skel->maps.disk_procs);
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
	disk_io__destroy(p->skel);
	free(p->percpu);
	free(p);
}

int disk_probe_watch_fd(struct disk_probe *p, pid_t tgid, int fd, uint32_t vm_slot, uint32_t disk)
{
	struct vigil_disk_fd key = { .tgid = (__u32)tgid, .fd = fd };
	struct vigil_disk_key value = { .vm_slot = vm_slot, .disk = disk };
	__u32 proc = (__u32)tgid, one = 1;

	if (bpf_map_update_elem(p->fds_fd, &key, &value, BPF_ANY) ||
	    bpf_map_update_elem(p->procs_fd, &proc, &one, BPF_ANY))
		return -errno;
	return 0;
}

int disk_probe_unwatch_fd(struct disk_probe *p, pid_t tgid, int fd)
{
	struct vigil_disk_fd key = { .tgid = (__u32)tgid, .fd = fd };

	return map_delete_key(p->fds_fd, &key);
}

int disk_probe_forget(struct disk_probe *p, pid_t tgid, uint32_t vm_slot)
{
	__u32 proc = (__u32)tgid;
	void *keys = NULL;
	int n, rc = map_delete_key(p->procs_fd, &proc);

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
