/* The hypervisor itself and the probe, as one more entry of each batch
 * (source "host", named after the host): CPU and memory of the host, the
 * number of VMs monitored, a heartbeat, the probe's own CPU and memory,
 * which metric families it counts and, when kernel.bpf_stats_enabled is
 * on, the run time of Vigil's BPF programs. */
#ifndef VIGIL_HOST_METRICS_H
#define VIGIL_HOST_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "vigil.pb-c.h"

/* The metric families that need a kernel program: each is counted only
 * when its loader started (probe.family_counted, tag family=NAME). */
enum probe_family {
	PROBE_FAMILY_CPU,  /* cpu.*, mem.minor_faults, mem.major_faults (cpu_sched) */
	PROBE_FAMILY_KVM,  /* kvm.exits (kvm_exit) */
	PROBE_FAMILY_NET,  /* net.* (net_tc) */
	PROBE_FAMILY_DISK, /* disk.* (disk_io) */
	PROBE_FAMILY_COUNT
};

struct host_metrics {
	bool family_counted[PROBE_FAMILY_COUNT]; /* set by the caller once its loaders started */
	bool primed;              /* a first reading exists */
	uint64_t cpu_busy, cpu_total;   /* /proc/stat jiffies, all CPUs */
	uint64_t self_ticks;      /* the probe's utime + stime */
	struct bpf_prog_time {
		uint32_t id;
		uint64_t run_time_ns;
	} *progs;
	unsigned n_progs;
};

/* Adds the host entry with its samples to b. vms is the number of VMs
 * monitored. Returns 0 or -ENOMEM; figures that cannot be read are left
 * out. */
int host_metrics_emit(struct host_metrics *h, Vigil__Batch *b, const char *host, unsigned vms, uint64_t window_ns);

void host_metrics_free(struct host_metrics *h);

/* Parses the aggregate "cpu" line of /proc/stat into busy and total
 * jiffies (busy: all but idle and iowait). Returns 0 or -EINVAL. */
int parse_proc_stat_cpu(const char *line, uint64_t *busy, uint64_t *total);

#endif
