#include "sampler.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "counter_delta.h"
#include "exit_counts.h"
#include "nic_sampler.h"
#include "disk_sampler.h"
#include "log.h"
#include "memory.h"

/* Highest vCPU index tracked per VM; the emulator bucket sits below it. */
#define MAX_VCPUS 512
#define EMULATOR_BUCKET 0 /* bucket index of vcpu -1 */

/* Cumulative counters of one bucket as last reported. */
struct bucket_prev {
	uint64_t on_cpu_ns;
	uint64_t wait_ns;
	uint64_t nr_preempted;
	uint64_t minor_faults;
	uint64_t major_faults;
};

struct known_thread {
	pid_t tid;
	int vcpu;
};

struct vm_slot {
	int in_use;
	int marked;            /* mark-and-sweep flag for sampler_sync */
	struct vm_target target;
	struct known_thread *threads;
	size_t n_threads;
	int max_vcpu;          /* highest vCPU index seen, -1 if none */
	char mem_file[CGROUP_PATH_MAX + 64]; /* the VM's cgroup memory usage, "" if none */
	unsigned vcpus;        /* vCPU threads seen */
	/* The next batch of this VM says its counters restarted, and why
	 * (for the debug log): set when the slot is (re)registered and when
	 * the guest's own counters went back between two listings. */
	bool reset_pending;
	char reset_why[128];
	struct exit_counts exits;
	struct vm_nics nics;
	struct vm_disks disks;
	/* Indexed by vcpu + 1, so the emulator's vcpu -1 is index 0. */
	struct bucket_prev prev[MAX_VCPUS + 1];
};

struct sampler {
	struct cpu_probe *cpu;  /* NULL only in unit tests, which feed readings */
	struct kvm_probe *kvm;  /* NULL: KVM exits not counted on this host */
	struct net_probe *net;  /* NULL: network not counted on this host */
	struct disk_probe *disk;/* NULL: disks not counted on this host */
	struct vm_slot slots[SAMPLER_MAX_VMS];
};

int sampler_new(struct sampler **out, struct cpu_probe *cpu, const struct sampler_probes *optional)
{
	struct sampler *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cpu = cpu;
	s->kvm = optional->kvm;
	s->net = optional->net;
	s->disk = optional->disk;
	*out = s;
	return 0;
}

/* Stops every kernel count of the slot. */
static void slot_forget(struct sampler *s, uint32_t idx)
{
	if (s->cpu)
		cpu_probe_forget_slot(s->cpu, idx);
	if (s->kvm)
		kvm_probe_forget_slot(s->kvm, idx);
	exit_counts_free(&s->slots[idx].exits);
	vm_nics_release(&s->slots[idx].nics, s->net);
	vm_disks_release(&s->slots[idx].disks, s->disk, s->slots[idx].target.pid, idx);
}

static void slot_release(struct sampler *s, uint32_t idx)
{
	struct vm_slot *slot = &s->slots[idx];
	if (slot->target.pid > 0)
		slot_forget(s, idx);
	free(slot->threads);
	memset(slot, 0, sizeof(*slot));
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < SAMPLER_MAX_VMS; i++) {
		if (s->slots[i].in_use)
			slot_release(s, i);
	}
	free(s);
}

static int find_slot(struct sampler *s, const char *uuid)
{
	for (int i = 0; i < SAMPLER_MAX_VMS; i++) {
		if (s->slots[i].in_use && strcmp(s->slots[i].target.uuid, uuid) == 0)
			return i;
	}
	return -1;
}

static int free_slot(struct sampler *s)
{
	for (int i = 0; i < SAMPLER_MAX_VMS; i++) {
		if (!s->slots[i].in_use)
			return i;
	}
	return -1;
}

static const struct known_thread *known_thread_find(const struct vm_slot *slot, pid_t tid)
{
	for (size_t i = 0; i < slot->n_threads; i++) {
		if (slot->threads[i].tid == tid)
			return &slot->threads[i];
	}
	return NULL;
}

/* The process is gone (or never existed): stop counting, keep reporting the
 * VM with a state that says so. */
static void slot_lose_process(struct sampler *s, uint32_t idx)
{
	struct vm_slot *slot = &s->slots[idx];
	if (slot->target.pid > 0) {
		log_info("vm %s: process %d is gone; no longer counting it", slot->target.name, slot->target.pid);
		slot_forget(s, idx);
	}
	slot->target.pid = 0;
	snprintf(slot->target.state, sizeof(slot->target.state), "no-process");
	free(slot->threads);
	slot->threads = NULL;
	slot->n_threads = 0;
	slot->vcpus = 0;
	slot->max_vcpu = -1;
}

/* Registers threads not yet known to the kernel map, or whose vCPU index
 * changed (QEMU names a vCPU thread just after creating it). Threads that
 * exited are dropped by the kernel program itself. */
static void slot_refresh_threads(struct sampler *s, uint32_t idx)
{
	struct vm_slot *slot = &s->slots[idx];
	struct thread_info *threads;
	int n = proc_list_threads(slot->target.pid, &threads);
	if (n < 0) {
		slot_lose_process(s, idx);
		return;
	}
	struct known_thread *now = calloc((size_t)n + 1, sizeof(*now));
	if (!now) {
		free(threads);
		return;
	}
	unsigned vcpus = 0;
	int max_vcpu = -1;
	for (int i = 0; i < n; i++) {
		int vcpu = threads[i].vcpu < MAX_VCPUS ? threads[i].vcpu : -1;
		const struct known_thread *old = known_thread_find(slot, threads[i].tid);
		if (s->cpu && (!old || old->vcpu != vcpu))
			cpu_probe_watch_thread(s->cpu, threads[i].tid, idx, vcpu);
		now[i] = (struct known_thread){ threads[i].tid, vcpu };
		if (vcpu >= 0) {
			vcpus++;
			max_vcpu = vcpu > max_vcpu ? vcpu : max_vcpu;
		}
	}
	free(threads);
	free(slot->threads);
	slot->threads = now;
	slot->n_threads = (size_t)n;
	slot->vcpus = vcpus;
	slot->max_vcpu = max_vcpu;
}

/* The VM's next batch carries counters_reset; why is kept for the debug
 * line that goes with it. */
static void slot_mark_reset(struct vm_slot *slot, const char *why)
{
	slot->reset_pending = true;
	snprintf(slot->reset_why, sizeof(slot->reset_why), "%s", why);
}

/* why: what the first batch's counters_reset stands for. */
static void slot_register(struct sampler *s, const struct vm_target *t, const char *why)
{
	int idx = free_slot(s);
	if (idx < 0) {
		log_warn("vm %s: not monitored, already at the limit of %d VMs", t->name, SAMPLER_MAX_VMS);
		return;
	}
	struct vm_slot *slot = &s->slots[idx];
	memset(slot, 0, sizeof(*slot));
	slot->in_use = 1;
	slot->marked = 1;
	slot->max_vcpu = -1;
	slot->target = *t;
	/* Nothing before this slot can be joined to what it counts. */
	slot_mark_reset(slot, why);
	if (t->pid <= 0) {
		log_info("vm %s (%s): no process found; listed without counters", t->name, t->uuid);
		return;
	}
	/* Watch the process first so threads born during the /proc walk are
	 * added by the kernel program itself. */
	if (s->cpu && cpu_probe_watch_process(s->cpu, t->pid, (uint32_t)idx) < 0)
		log_warn("vm %s: cannot watch process %d for new threads", t->name, t->pid);
	if (s->kvm && kvm_probe_watch_process(s->kvm, t->pid, (uint32_t)idx) < 0)
		log_warn("vm %s: cannot count the KVM exits of process %d", t->name, t->pid);
	slot_refresh_threads(s, (uint32_t)idx);
	/* Only a VM with a cgroup of its own: a --pid target in a shared
	 * cgroup would report its neighbours' memory too. */
	if (t->source != VM_SOURCE_LIBVIRT ||
	    proc_memory_cgroup_file(t->pid, true, slot->mem_file, sizeof(slot->mem_file)) < 0)
		slot->mem_file[0] = '\0';
	vm_nics_sync(&slot->nics, s->net, t);
	vm_disks_sync(&slot->disks, s->disk, t, (uint32_t)idx);
	log_info("vm %s (%s): monitoring pid %d, %u vCPU thread(s), cgroup %s", t->name, t->uuid, t->pid,
		 slot->vcpus, t->cgroup[0] ? t->cgroup : "unknown");
}

/* The guest's own cumulative counts (balloon statistics: swap, major
 * faults) start again from zero when the guest reboots inside the same
 * QEMU process, and a 32-bit guest's wrap. The values are sent as they are,
 * so a step back is only made explicit. A statistic missing from either
 * listing is not compared. */
static void check_guest_counters(struct vm_slot *slot, const struct vm_memory_info *now)
{
	static const struct {
		enum balloon_stat stat;
		const char *metric;
		unsigned width;
	} counters[] = {
		{ BALLOON_SWAP_IN, "mem.guest_swap_in_bytes", COUNTER_WIDTH_GUEST_PAGE_BYTES },
		{ BALLOON_SWAP_OUT, "mem.guest_swap_out_bytes", COUNTER_WIDTH_GUEST_PAGE_BYTES },
		{ BALLOON_MAJOR_FAULTS, "mem.guest_major_faults", COUNTER_WIDTH_GUEST_EVENTS },
	};
	const struct vm_memory_info *before = &slot->target.memory;

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		unsigned bit = 1u << counters[i].stat;
		uint64_t prev = before->balloon[counters[i].stat], delta;
		enum counter_step step;
		char why[sizeof(slot->reset_why)];

		if (!(before->balloon_have & bit) || !(now->balloon_have & bit))
			continue;
		step = counter_delta(&prev, now->balloon[counters[i].stat], counters[i].width, &delta);
		if (step != COUNTER_WRAP && step != COUNTER_RESET)
			continue;
		snprintf(why, sizeof(why), "guest counter %s went from %llu to %llu (%s)", counters[i].metric,
			 (unsigned long long)prev, (unsigned long long)now->balloon[counters[i].stat],
			 counter_step_name(step));
		slot_mark_reset(slot, why);
	}
}

/* A VM whose process changed (restarted QEMU) starts afresh in a new slot. */
static void slot_update(struct sampler *s, int idx, const struct vm_target *t)
{
	struct vm_slot *slot = &s->slots[idx];
	slot->marked = 1;
	if (t->pid != slot->target.pid) {
		if (t->pid > 0) {
			char why[sizeof(slot->reset_why)];

			snprintf(why, sizeof(why), "new process %d (was %d)", t->pid, slot->target.pid);
			slot_release(s, (uint32_t)idx);
			slot_register(s, t, why);
		} else {
			slot_lose_process(s, (uint32_t)idx);
		}
		return;
	}
	if (slot->target.pid > 0) {
		/* Keep our own state when the process vanished under us. */
		snprintf(slot->target.state, sizeof(slot->target.state), "%s", t->state);
		snprintf(slot->target.name, sizeof(slot->target.name), "%s", t->name);
		check_guest_counters(slot, &t->memory);
		slot->target.memory = t->memory;
		memcpy(slot->target.nics, t->nics, sizeof(t->nics));
		slot->target.n_nics = t->n_nics;
		memcpy(slot->target.disks, t->disks, sizeof(t->disks));
		slot->target.n_disks = t->n_disks;
		vm_nics_sync(&slot->nics, s->net, t);
		vm_disks_sync(&slot->disks, s->disk, t, (uint32_t)idx);
		slot_refresh_threads(s, (uint32_t)idx);
	}
}

void sampler_sync(struct sampler *s, const struct vm_target *targets, size_t n)
{
	for (int i = 0; i < SAMPLER_MAX_VMS; i++)
		s->slots[i].marked = 0;
	for (size_t i = 0; i < n; i++) {
		int idx = find_slot(s, targets[i].uuid);
		if (idx >= 0)
			slot_update(s, idx, &targets[i]);
		else
			slot_register(s, &targets[i], "first batch of this VM from this probe");
	}
	for (uint32_t i = 0; i < SAMPLER_MAX_VMS; i++) {
		if (s->slots[i].in_use && !s->slots[i].marked) {
			log_info("vm %s (%s): no longer present; stopped monitoring", s->slots[i].target.name,
				 s->slots[i].target.uuid);
			slot_release(s, i);
		}
	}
}

/* Counter deltas over the interval, per bucket index (vcpu + 1). */
struct slot_deltas {
	struct bucket_prev d[MAX_VCPUS + 1];
};

/* Kernel counters only grow while a slot lives (the slot's buckets are
 * deleted when it is released, and cpu_probe_snapshot() already holds a
 * bucket whose read came out low), so a step back here is a bucket the
 * kernel recreated: it counts from zero again, and the batch says so. */
static void apply_reading(struct vm_slot *slot, const struct cpu_bucket_reading *r, struct slot_deltas *out,
			  Vigil__VmSamples *vm)
{
	if (r->vcpu < -1 || r->vcpu >= MAX_VCPUS)
		return;
	int b = r->vcpu + 1;
	char bucket[24];
	struct bucket_prev *prev = &slot->prev[b];

	if (r->vcpu < 0)
		snprintf(bucket, sizeof(bucket), "thread=emulator");
	else
		snprintf(bucket, sizeof(bucket), "vcpu=%d", (int)r->vcpu);
	out->d[b].on_cpu_ns = counter_advance(&prev->on_cpu_ns, r->on_cpu_ns, COUNTER_WIDTH_64, vm, "on_cpu_ns", bucket);
	out->d[b].wait_ns = counter_advance(&prev->wait_ns, r->wait_ns, COUNTER_WIDTH_64, vm, "wait_ns", bucket);
	out->d[b].nr_preempted =
		counter_advance(&prev->nr_preempted, r->nr_preempted, COUNTER_WIDTH_64, vm, "nr_preempted", bucket);
	out->d[b].minor_faults =
		counter_advance(&prev->minor_faults, r->minor_faults, COUNTER_WIDTH_64, vm, "minor_faults", bucket);
	out->d[b].major_faults =
		counter_advance(&prev->major_faults, r->major_faults, COUNTER_WIDTH_64, vm, "major_faults", bucket);
}

/* cpu.used_pct and cpu.wait_pct have a fixed resolution of 0.01
 * percentage points (schema/metrics.tsv): 100 us of CPU per second, finer
 * than the scheduler's accounting means anything at. The result is the
 * double nearest m / 100 for a whole m, which the store keeps as a small
 * integer (collector/store/codec.c); a full-precision figure's random low bits
 * would cost about 7 bytes per reading on disk. */
static double pct(uint64_t ns, uint64_t window_ns)
{
	if (!window_ns)
		return 0.0;
	double hundredths = round((double)ns * 10000.0 / (double)window_ns);
	return hundredths / 100.0;
}

static int add_cpu_samples(Vigil__VmSamples *vm, const struct bucket_prev *d, uint64_t window_ns,
			   const char *tag_key, const char *tag_value)
{
	if (batch_add_sample(vm, "cpu.used_pct", pct(d->on_cpu_ns, window_ns), tag_key, tag_value) < 0 ||
	    batch_add_sample(vm, "cpu.wait_pct", pct(d->wait_ns, window_ns), tag_key, tag_value) < 0 ||
	    batch_add_sample(vm, "cpu.preempted", (double)d->nr_preempted, tag_key, tag_value) < 0)
		return -ENOMEM;
	return 0;
}

/* From libvirt's latest listing (refreshed by the discovery thread): the
 * configured memory and whatever balloon statistics the guest reports. */
static int add_libvirt_memory_samples(const struct vm_memory_info *m, Vigil__VmSamples *vm)
{
	static const char *const names[BALLOON_STAT_COUNT] = {
		[BALLOON_ACTUAL] = "mem.balloon_actual_bytes",
		[BALLOON_UNUSED] = "mem.balloon_unused_bytes",
		[BALLOON_AVAILABLE] = "mem.balloon_available_bytes",
		[BALLOON_SWAP_IN] = "mem.guest_swap_in_bytes",
		[BALLOON_SWAP_OUT] = "mem.guest_swap_out_bytes",
		[BALLOON_MAJOR_FAULTS] = "mem.guest_major_faults",
	};

	if (m->configured_bytes &&
	    batch_add_sample(vm, "mem.configured_bytes", (double)m->configured_bytes, NULL, NULL) < 0)
		return -ENOMEM;
	for (int b = 0; b < BALLOON_STAT_COUNT; b++)
		if ((m->balloon_have & (1u << b)) &&
		    batch_add_sample(vm, names[b], (double)m->balloon[b], NULL, NULL) < 0)
			return -ENOMEM;
	return 0;
}

/* Per VM only: page faults of all its threads, QEMU's resident set, and the
 * VM's memory cgroup where it has one of its own. A figure that cannot be
 * read this interval is left out rather than sent as zero. */
static int add_memory_samples(const struct vm_slot *slot, const struct bucket_prev *total, Vigil__VmSamples *vm)
{
	uint64_t bytes;

	if (batch_add_sample(vm, "mem.minor_faults", (double)total->minor_faults, NULL, NULL) < 0 ||
	    batch_add_sample(vm, "mem.major_faults", (double)total->major_faults, NULL, NULL) < 0)
		return -ENOMEM;
	if (proc_rss_bytes(slot->target.pid, &bytes) == 0 &&
	    batch_add_sample(vm, "mem.rss_bytes", (double)bytes, NULL, NULL) < 0)
		return -ENOMEM;
	if (slot->mem_file[0] && read_u64_file(slot->mem_file, &bytes) == 0 &&
	    batch_add_sample(vm, "mem.cgroup_bytes", (double)bytes, NULL, NULL) < 0)
		return -ENOMEM;
	return add_libvirt_memory_samples(&slot->target.memory, vm);
}

/* Whole VM, then each vCPU, then the emulator and I/O threads together. */
static int emit_slot(const struct vm_slot *slot, const struct slot_deltas *deltas, uint64_t window_ns,
		     Vigil__VmSamples *vm)
{
	struct bucket_prev total = { 0 };
	for (int b = 0; b <= slot->max_vcpu + 1; b++) {
		total.on_cpu_ns += deltas->d[b].on_cpu_ns;
		total.wait_ns += deltas->d[b].wait_ns;
		total.nr_preempted += deltas->d[b].nr_preempted;
		total.minor_faults += deltas->d[b].minor_faults;
		total.major_faults += deltas->d[b].major_faults;
	}
	if (add_cpu_samples(vm, &total, window_ns, NULL, NULL) < 0 || add_memory_samples(slot, &total, vm) < 0)
		return -ENOMEM;
	for (int v = 0; v <= slot->max_vcpu; v++) {
		char idx[16];
		snprintf(idx, sizeof(idx), "%d", v);
		if (add_cpu_samples(vm, &deltas->d[v + 1], window_ns, "vcpu", idx) < 0)
			return -ENOMEM;
	}
	return add_cpu_samples(vm, &deltas->d[EMULATOR_BUCKET], window_ns, "thread", "emulator");
}

/* The KVM exit counts of every VM; none when they are not counted here. A
 * failed read costs this interval's exit samples only. */
static int snapshot_exits(struct sampler *s, struct kvm_exit_reading **out)
{
	int n;

	*out = NULL;
	if (!s->kvm)
		return 0;
	n = kvm_probe_snapshot(s->kvm, out);
	if (n < 0) {
		log_warn("reading the KVM exit counts failed: %s", strerror(-n));
		return 0;
	}
	return n;
}

/* The VM's counters_reset: what the slot has pending (a new slot, a guest
 * counter that went back) and whatever the readings applied so far found. */
static void settle_reset_flag(struct vm_slot *slot, Vigil__VmSamples *vm)
{
	if (slot->reset_pending) {
		vm->counters_reset = 1;
		log_debug("vm %s: counters_reset: %s", slot->target.name, slot->reset_why);
	}
	slot->reset_pending = false;
}

/* One VM's entry in the batch. */
static int collect_slot(struct sampler *s, uint32_t i, const struct cpu_bucket_reading *readings, size_t n,
			const struct kvm_exit_reading *exits, size_t n_exits, uint64_t window_ns,
			struct slot_deltas *deltas, Vigil__Batch *b)
{
	struct vm_slot *slot = &s->slots[i];
	Vigil__VmSamples *vm = batch_add_vm(b, &slot->target, slot->vcpus);
	int rc = 0;

	if (!vm)
		return -ENOMEM;
	memset(deltas, 0, sizeof(*deltas));
	for (size_t r = 0; r < n; r++) {
		if (readings[r].vm_slot == i)
			apply_reading(slot, &readings[r], deltas, vm);
	}
	if (slot->target.pid > 0)
		rc = emit_slot(slot, deltas, window_ns, vm);
	if (!rc && slot->target.pid > 0)
		rc = exit_counts_emit(&slot->exits, exits, n_exits, i, vm);
	if (!rc && slot->target.pid > 0)
		rc = vm_nics_emit(&slot->nics, s->net, vm);
	if (!rc && slot->target.pid > 0)
		rc = vm_disks_emit(&slot->disks, s->disk, i, vm);
	settle_reset_flag(slot, vm);
	return rc;
}

int sampler_collect_readings(struct sampler *s, const struct cpu_bucket_reading *readings, size_t n,
			     const struct kvm_exit_reading *exits, size_t n_exits, uint64_t window_ns, Vigil__Batch *b)
{
	struct slot_deltas *deltas = calloc(1, sizeof(*deltas));
	int rc = deltas ? 0 : -ENOMEM;

	for (uint32_t i = 0; i < SAMPLER_MAX_VMS && rc == 0; i++) {
		if (s->slots[i].in_use)
			rc = collect_slot(s, i, readings, n, exits, n_exits, window_ns, deltas, b);
	}
	free(deltas);
	return rc;
}

int sampler_collect(struct sampler *s, uint64_t now_mono_ns, uint64_t window_ns, Vigil__Batch *b)
{
	struct cpu_bucket_reading *readings = NULL;
	struct kvm_exit_reading *exits;
	int n = cpu_probe_snapshot(s->cpu, now_mono_ns, &readings);
	if (n < 0)
		return n;
	int n_exits = snapshot_exits(s, &exits);
	int rc = sampler_collect_readings(s, readings, (size_t)n, exits, (size_t)n_exits, window_ns, b);

	free(readings);
	free(exits);
	return rc;
}
