/* The sampler: keeps the kernel's view of which threads belong to which VM
 * in step with discovery, and turns cumulative kernel counters into
 * per-interval samples. It never calls libvirt. */
#ifndef VIGIL_SAMPLER_H
#define VIGIL_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_sched_loader.h"
#include "discovery.h"
#include "kvm_exit_loader.h"
#include "net_tc_loader.h"
#include "disk_io_loader.h"
#include "vigil.pb-c.h"

#define SAMPLER_MAX_VMS 1024

struct sampler;

/* The optional kernel counters: NULL when they cannot be counted here. */
struct sampler_probes {
	struct kvm_probe *kvm;
	struct net_probe *net;
	struct disk_probe *disk;
};

/* cpu is NULL only in unit tests: nothing is registered with the kernel
 * then, and readings come through sampler_collect_readings(). */
int sampler_new(struct sampler **out, struct cpu_probe *cpu, const struct sampler_probes *optional);
void sampler_free(struct sampler *s);

/* Makes the monitored set equal to targets (matched by UUID): new VMs get a
 * slot and their threads are registered with the kernel, vanished ones are
 * dropped, and every VM's thread list is refreshed from /proc so new
 * threads and vCPUs are picked up. Called right after sampler_collect(),
 * so a new VM's counting starts with the interval that is beginning. */
void sampler_sync(struct sampler *s, const struct vm_target *targets, size_t n);

/* Reads the counters at now_mono_ns and adds to b one VmSamples per
 * monitored VM with the CPU figures over the window_ns that just ended.
 * 0, or a negative errno.
 *
 * A VM's counters_reset is set on its first batch from this probe (a probe
 * restart, a VM that appeared), on the first batch of a new process of the
 * same VM (same UUID, new pid), and when any of its counters went back
 * (userspace/counter_delta.h): a kernel counter recreated, a tap recreated,
 * the guest's own counters after a guest reboot. The deltas of that batch
 * cover only what was counted since. */
int sampler_collect(struct sampler *s, uint64_t now_mono_ns, uint64_t window_ns, Vigil__Batch *b);

/* sampler_collect() past the kernel reads: turns cumulative bucket readings
 * (and KVM exit readings) of the monitored slots into b's samples. */
int sampler_collect_readings(struct sampler *s, const struct cpu_bucket_reading *readings, size_t n,
			     const struct kvm_exit_reading *exits, size_t n_exits, uint64_t window_ns, Vigil__Batch *b);

#endif
