/* Loader and reader for the CPU scheduler programs (bpf/cpu_sched.bpf.c).
 *
 * Lifecycle: cpu_probe_open() opens, loads and attaches; the probe then
 * registers threads and processes per VM slot; cpu_probe_snapshot() reads
 * cumulative counters, including the slice still running at read time. */
#ifndef VIGIL_CPU_SCHED_LOADER_H
#define VIGIL_CPU_SCHED_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cpu_probe;
struct cpu_sched;

/* One cumulative reading of a (VM slot, vCPU) bucket. vcpu is -1 for the
 * VM's non-vCPU threads. Values only grow while the slot lives. */
struct cpu_bucket_reading {
	uint32_t vm_slot;
	int32_t vcpu;
	uint64_t on_cpu_ns;
	uint64_t wait_ns;
	uint64_t nr_preempted;
	uint64_t minor_faults;
	uint64_t major_faults;
};

/* Opens, loads and attaches the programs. On failure returns a negative errno
 * and writes a message naming the failed step into err. */
int cpu_probe_open(struct cpu_probe **out, char *err, size_t errlen);
void cpu_probe_close(struct cpu_probe *p);

/* The loaded programs and maps, for benchmarks (bench/sched_cost.c). */
struct cpu_sched *cpu_probe_skeleton(struct cpu_probe *p);

/* New threads of tgid (created after this call) are counted for vm_slot as
 * non-vCPU threads from their first wakeup. Existing threads must be added
 * with cpu_probe_watch_thread(). */
int cpu_probe_watch_process(struct cpu_probe *p, pid_t tgid, uint32_t vm_slot);

/* Counts thread tid for vm_slot as vCPU vcpu (-1: not a vCPU). If the thread
 * is already watched, only its slot and vCPU change. */
int cpu_probe_watch_thread(struct cpu_probe *p, pid_t tid, uint32_t vm_slot, int32_t vcpu);

/* Stops counting everything of vm_slot: its threads, processes and buckets.
 * The slot may then be reused. */
int cpu_probe_forget_slot(struct cpu_probe *p, uint32_t vm_slot);

/* Reads every bucket. now_mono_ns is CLOCK_MONOTONIC now: slices still
 * running or waiting at that time are added, so figures do not run low.
 * *out is malloc'd (free() it); returns the count or a negative errno. */
int cpu_probe_snapshot(struct cpu_probe *p, uint64_t now_mono_ns,
		       struct cpu_bucket_reading **out);

#endif
