#include "disk_sampler.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "counter_delta.h"
#include "log.h"

double log2_hist_quantile_us(const uint64_t *hist, unsigned slots, double q)
{
	uint64_t total = 0, seen = 0;

	for (unsigned i = 0; i < slots; i++)
		total += hist[i];
	if (!total)
		return -1;
	for (unsigned i = 0; i < slots; i++) {
		seen += hist[i];
		if ((double)seen >= q * (double)total)
			return 1.5 * (double)(1ull << i) / 1000.0;
	}
	return 1.5 * (double)(1ull << (slots - 1)) / 1000.0;
}

static bool same_disk(const struct vm_disk *a, const struct vm_disk *b)
{
	return strcmp(a->dev, b->dev) == 0 && strcmp(a->path, b->path) == 0;
}

/* Keeps the state of disks still listed, in the target's order. */
static void follow_list(struct vm_disks *s, const struct vm_target *t)
{
	struct vm_disks next = { .n = 0 };

	for (unsigned i = 0; i < t->n_disks; i++) {
		struct disk_state *d = &next.v[next.n++];
		unsigned j;

		for (j = 0; j < s->n && !same_disk(&s->v[j].disk, &t->disks[i]); j++)
			;
		if (j < s->n) {
			*d = s->v[j];
			continue;
		}
		memset(d, 0, sizeof(*d));
		d->disk = t->disks[i];
		/* disk.path is shorter than real_path, so the copy is whole. */
		char real[PATH_MAX];
		if (realpath(d->disk.path, real) && strlen(real) < sizeof(d->real_path))
			memcpy(d->real_path, real, strlen(real) + 1);
		else
			memcpy(d->real_path, d->disk.path, sizeof(d->disk.path));
	}
	*s = next;
}

static bool has_fd(const int *fds, unsigned n, int fd)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] == fd)
			return true;
	return false;
}

/* Registers every descriptor of pid that is open on one of the disks, and
 * drops the ones registered before that no longer are. */
static void register_fds(struct vm_disks *s, struct disk_probe *dp, pid_t pid, uint32_t vm_slot)
{
	int now[VM_MAX_DISK_FDS];
	unsigned n_now = 0;
	const struct dirent *e;
	char dir[64], link[64 + sizeof(e->d_name)], target[PATH_MAX];
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		for (unsigned i = 0; i < s->n && n_now < VM_MAX_DISK_FDS; i++) {
			if (strcmp(target, s->v[i].real_path) != 0)
				continue;
			if (disk_probe_watch_fd(dp, pid, atoi(e->d_name), vm_slot, i) < 0)
				log_debug("disk %s: cannot watch fd %s", s->v[i].disk.dev, e->d_name);
			else
				now[n_now++] = atoi(e->d_name);
		}
	}
	closedir(d);
	for (unsigned i = 0; i < s->n_fds; i++)
		if (!has_fd(now, n_now, s->fds[i]))
			disk_probe_unwatch_fd(dp, pid, s->fds[i]);
	memcpy(s->fds, now, n_now * sizeof(now[0]));
	s->n_fds = n_now;
}

void vm_disks_sync(struct vm_disks *s, struct disk_probe *dp, const struct vm_target *t, uint32_t vm_slot)
{
	if (!dp || t->pid <= 0)
		return;
	follow_list(s, t);
	register_fds(s, dp, t->pid, vm_slot);
}

void vm_disks_release(struct vm_disks *s, struct disk_probe *dp, pid_t pid, uint32_t vm_slot)
{
	if (dp && pid > 0)
		disk_probe_forget(dp, pid, vm_slot);
	s->n = 0;
	s->n_fds = 0;
}

/* Growth of one of the disk's counters; a step back (the disk's kernel
 * entry recreated) counts what it counted since and marks the batch. */
static uint64_t grown(uint64_t *last, uint64_t now, Vigil__VmSamples *vm, const char *counter, const char *dev)
{
	return counter_advance(last, now, COUNTER_WIDTH_64, vm, counter, dev);
}

static int emit_direction(struct disk_state *d, const struct disk_reading *r, int dir, Vigil__VmSamples *vm)
{
	static const char *const names[2][4] = {
		{ "disk.read_bytes", "disk.read_ops", "disk.read_lat_p50_us", "disk.read_lat_p99_us" },
		{ "disk.write_bytes", "disk.write_ops", "disk.write_lat_p50_us", "disk.write_lat_p99_us" },
	};
	const struct batch_tag tag = { "dev", d->disk.dev };
	uint64_t hist[DISK_LAT_SLOTS];
	uint64_t bytes = grown(&d->last.bytes[dir], r->bytes[dir], vm, names[dir][0], d->disk.dev);
	uint64_t ops = grown(&d->last.ops[dir], r->ops[dir], vm, names[dir][1], d->disk.dev);

	for (int i = 0; i < DISK_LAT_SLOTS; i++)
		hist[i] = grown(&d->last.lat[dir][i], r->lat[dir][i], vm, "disk latency histogram", d->disk.dev);
	if (batch_add_sample_tags(vm, names[dir][0], (double)bytes, &tag, 1) < 0 ||
	    batch_add_sample_tags(vm, names[dir][1], (double)ops, &tag, 1) < 0)
		return -ENOMEM;
	/* No calls, no latency: the figure is left out for the interval. */
	if (ops && (batch_add_sample_tags(vm, names[dir][2], log2_hist_quantile_us(hist, DISK_LAT_SLOTS, 0.5), &tag, 1) < 0 ||
		    batch_add_sample_tags(vm, names[dir][3], log2_hist_quantile_us(hist, DISK_LAT_SLOTS, 0.99), &tag, 1) < 0))
		return -ENOMEM;
	return 0;
}

int vm_disks_emit(struct vm_disks *s, struct disk_probe *dp, uint32_t vm_slot, Vigil__VmSamples *vm)
{
	struct disk_reading r;

	for (unsigned i = 0; dp && i < s->n; i++) {
		if (disk_probe_read(dp, vm_slot, i, &r) < 0)
			continue;
		if (emit_direction(&s->v[i], &r, 0, vm) < 0 || emit_direction(&s->v[i], &r, 1, vm) < 0)
			return -ENOMEM;
	}
	return 0;
}
