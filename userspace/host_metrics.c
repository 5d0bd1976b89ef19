#include "host_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "batch.h"
#include "counter_delta.h"
#include "discovery.h"
#include "log.h"
#include "memory.h"

int parse_proc_stat_cpu(const char *line, uint64_t *busy, uint64_t *total)
{
	unsigned long long v[8] = { 0 };
	int n;

	/* The aggregate line only, not "cpu0 ...". */
	if (strncmp(line, "cpu ", 4) != 0)
		return -EINVAL;
	n = sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
		   &v[7]);
	if (n < 4)
		return -EINVAL;
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += v[i];
	/* v[3] idle, v[4] iowait. Guest time is already inside user. */
	*busy = *total - v[3] - v[4];
	return 0;
}

static int read_host_cpu(uint64_t *busy, uint64_t *total)
{
	char line[256];
	FILE *f = fopen("/proc/stat", "re");
	int rc = -EINVAL;

	if (!f)
		return -errno;
	if (fgets(line, sizeof(line), f))
		rc = parse_proc_stat_cpu(line, busy, total);
	fclose(f);
	return rc;
}

/* MemTotal and MemAvailable of /proc/meminfo, in bytes. */
static int read_host_memory(uint64_t *total, uint64_t *available)
{
	unsigned long long kib;
	char line[128];
	int found = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -errno;
	while (found < 2 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
			*total = kib * 1024;
			found++;
		} else if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
			*available = kib * 1024;
			found++;
		}
	}
	fclose(f);
	return found == 2 ? 0 : -EINVAL;
}

/* utime + stime of this process, in clock ticks. */
static int read_self_ticks(uint64_t *ticks)
{
	unsigned long long utime, stime;
	char buf[512];
	const char *paren;
	size_t n;
	FILE *f = fopen("/proc/self/stat", "re");

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	/* After the name: state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime. */
	if (!paren || sscanf(paren + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		return -EINVAL;
	*ticks = utime + stime;
	return 0;
}

static int add(Vigil__VmSamples *vm, const char *metric, double value)
{
	return batch_add_sample(vm, metric, value, NULL, NULL);
}

/* Growth of a host counter whose baseline is the host's boot, not zero:
 * after a step back what it counted since is unknown, so the figure is left
 * out (false) and the entry is marked. */
static bool host_growth(Vigil__VmSamples *vm, bool primed, uint64_t prev, uint64_t cur, const char *counter,
			uint64_t *delta)
{
	enum counter_step step = counter_delta(primed ? &prev : NULL, cur, COUNTER_WIDTH_64, delta);

	if (step == COUNTER_RESET || step == COUNTER_WRAP) {
		vm->counters_reset = 1;
		log_debug("host %s: %s went from %llu to %llu; left out this interval", vm->name, counter,
			  (unsigned long long)prev, (unsigned long long)cur);
	}
	return step == COUNTER_NORMAL;
}

static int emit_cpu(struct host_metrics *h, Vigil__VmSamples *vm, uint64_t window_ns)
{
	uint64_t busy = 0, total = 0, self = 0, d_busy, d_total, d_self;
	long hz = sysconf(_SC_CLK_TCK);
	int rc = 0;

	if (read_host_cpu(&busy, &total) < 0 || read_self_ticks(&self) < 0)
		return 0;
	/* Both sides are evaluated: each one marks a step back on its own. */
	bool busy_ok = host_growth(vm, h->primed, h->cpu_busy, busy, "/proc/stat busy jiffies", &d_busy);
	bool total_ok = host_growth(vm, h->primed, h->cpu_total, total, "/proc/stat total jiffies", &d_total);
	if (busy_ok && total_ok && d_total > 0 && d_busy <= d_total)
		rc = add(vm, "host.cpu_pct", (double)d_busy * 100.0 / (double)d_total);
	if (!rc && host_growth(vm, h->primed, h->self_ticks, self, "the probe's CPU ticks", &d_self) && window_ns &&
	    hz > 0)
		rc = add(vm, "probe.cpu_pct", (double)d_self * 1e9 / (double)hz * 100.0 / (double)window_ns);
	h->cpu_busy = busy;
	h->cpu_total = total;
	h->self_ticks = self;
	return rc;
}

static int emit_memory(Vigil__VmSamples *vm)
{
	uint64_t total = 0, available = 0, rss = 0;

	if (read_host_memory(&total, &available) == 0 &&
	    (add(vm, "host.mem_total_bytes", (double)total) < 0 ||
	     add(vm, "host.mem_used_bytes", (double)(total - available)) < 0))
		return -ENOMEM;
	if (proc_rss_bytes(getpid(), &rss) == 0 && add(vm, "probe.rss_bytes", (double)rss) < 0)
		return -ENOMEM;
	return 0;
}

static struct bpf_prog_time *prog_entry(struct host_metrics *h, uint32_t id)
{
	struct bpf_prog_time *grown;

	for (unsigned i = 0; i < h->n_progs; i++)
		if (h->progs[i].id == id)
			return &h->progs[i];
	grown = realloc(h->progs, (h->n_progs + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	h->progs = grown;
	h->progs[h->n_progs] = (struct bpf_prog_time){ .id = id, .run_time_ns = UINT64_MAX };
	return &h->progs[h->n_progs++];
}

/* Run time of one of Vigil's programs (named vigil_*) in the interval.
 * Nothing while bpf_stats are off: run_time_ns does not move then. */
static int emit_prog(struct host_metrics *h, Vigil__VmSamples *vm, uint32_t id)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	struct bpf_prog_time *e;
	int fd = bpf_prog_get_fd_by_id(id), rc = 0;

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && strncmp(info.name, "vigil_", 6) == 0 &&
	    info.run_time_ns) {
		e = prog_entry(h, id);
		uint64_t d;

		if (!e)
			rc = -ENOMEM;
		else if (host_growth(vm, e->run_time_ns != UINT64_MAX, e->run_time_ns, info.run_time_ns, info.name, &d))
			rc = batch_add_sample(vm, "probe.bpf_run_ns", (double)d, "prog", info.name);
		if (e)
			e->run_time_ns = info.run_time_ns;
	}
	close(fd);
	return rc;
}

/* Every interval, so that the collector's latest reading tells which
 * families this probe counts (vigilctl hosts shows the absent ones). */
static int emit_families(const struct host_metrics *h, Vigil__VmSamples *vm)
{
	static const char *const names[PROBE_FAMILY_COUNT] = {
		[PROBE_FAMILY_CPU] = "cpu",
		[PROBE_FAMILY_KVM] = "kvm",
		[PROBE_FAMILY_NET] = "net",
		[PROBE_FAMILY_DISK] = "disk",
	};

	for (int f = 0; f < PROBE_FAMILY_COUNT; f++)
		if (batch_add_sample(vm, "probe.family_counted", h->family_counted[f], "family", names[f]) < 0)
			return -ENOMEM;
	return 0;
}

static int emit_bpf(struct host_metrics *h, Vigil__VmSamples *vm)
{
	__u32 id = 0;
	int rc = 0;

	while (!rc && bpf_prog_get_next_id(id, &id) == 0)
		rc = emit_prog(h, vm, id);
	return rc;
}

int host_metrics_emit(struct host_metrics *h, Vigil__Batch *b, const char *host, unsigned vms, uint64_t window_ns)
{
	struct vm_target t = { .source = VM_SOURCE_HOST, .state = "up" };
	Vigil__VmSamples *vm;

	snprintf(t.name, sizeof(t.name), "%s", host);
	/* An empty name never belongs to a --pid target. */
	pid_target_uuid(host, "", t.uuid);
	vm = batch_add_vm(b, &t, 0);
	/* The probe's first batch: nothing before it to join to. */
	if (vm)
		vm->counters_reset = !h->primed;
	if (!vm || add(vm, "host.up", 1) < 0 || add(vm, "host.vms", vms) < 0 || emit_cpu(h, vm, window_ns) < 0 ||
	    emit_memory(vm) < 0 || emit_families(h, vm) < 0 || emit_bpf(h, vm) < 0)
		return -ENOMEM;
	h->primed = true;
	return 0;
}

void host_metrics_free(struct host_metrics *h)
{
	free(h->progs);
	h->progs = NULL;
	h->n_progs = 0;
}
