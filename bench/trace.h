/* A deterministic trace of probe batches for the store benchmarks.
 *
 * Shape: H hosts x V VMs per host x M metrics per VM, one batch per host
 * per interval. Metric names and tags come from the catalogue
 * (schema/metrics.tsv) with the tags the probe really sends (vcpu=N,
 * dev=vda, if=vnetN,mac=...), so a collector treats the trace as real
 * traffic. Time is synthetic: interval k of every host covers
 * [t0 + k*interval, t0 + (k+1)*interval), whatever the wall clock says.
 *
 * Change rates: on a busy VM each CPU, disk and network reading (and the
 * minor-fault count) differs from the previous interval's with probability
 * vary_rate, each memory and state reading with probability steady_rate.
 * An idle VM's readings never change after its first interval.
 *
 * Every host draws from its own seeded PRNG, so its batches depend only on
 * (seed, host index, interval number): hosts can be generated on any thread
 * in any order, and the same seed gives byte-identical batches. */
#ifndef VIGIL_BENCH_TRACE_H
#define VIGIL_BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil.pb-c.h"

/* How many distinct metric series one VM can carry (the template list). */
#define TRACE_MAX_METRICS 40
/* The reference trace: 1,000 VMs x 30 metrics at 1 s for 1 hour. */
#define TRACE_REFERENCE_METRICS 30

enum trace_change_class {
	TRACE_VARYING, /* CPU, disk, network: changes often on a busy VM */
	TRACE_STEADY,  /* memory levels and states: rarely changes */
};

/* One series a VM carries: a catalogue metric with its tags. */
struct trace_metric {
	const char *metric;
	const char *tag_key;   /* NULL: untagged, or per-VM interface tags (net_tags) */
	const char *tag_value;
	int net_tags;          /* if=vnetN,mac=52:54:00:..., per VM */
	enum trace_change_class change;
};

struct trace_shape {
	uint32_t hosts;
	uint32_t vms_per_host;
	uint32_t metrics;      /* per VM: the first N of the template list, 1..TRACE_MAX_METRICS */
	uint32_t interval_ms;
	uint32_t intervals;    /* per host; the trace's length */
	uint32_t first_host;   /* index of the first host, so traces can be disjoint */
	double idle_share;     /* share of VMs that stay flat, 0..1 */
	double vary_rate;      /* P(change) per interval of a varying reading on a busy VM */
	double steady_rate;    /* P(change) per interval of a steady reading on a busy VM */
	uint64_t seed;
	int64_t t0_ms;         /* start of interval 0 */
};

/* The default rates (see docs/benchmarks.md for why). */
void trace_shape_defaults(struct trace_shape *s);

/* Places the trace so that its last interval ends at or just before
 * now_ms, on an interval boundary: a collector then sees it as recent. */
void trace_shape_end_at(struct trace_shape *s, int64_t now_ms);

/* 0, or -1 with a message naming the bad field. */
int trace_shape_check(const struct trace_shape *s, char *err, size_t errlen);

/* Samples in the whole trace, and in one host's batch. */
uint64_t trace_total_samples(const struct trace_shape *s);
uint64_t trace_batch_samples(const struct trace_shape *s);

/* The template list; index i is the (i+1)-th metric a VM carries. */
const struct trace_metric *trace_metric_at(unsigned i);

/* One host's generator: its PRNG, the current reading of each series, and
 * the wire Batch it rebuilds every interval (no allocation per interval). */
struct trace_host;

/* index is relative to shape->first_host. NULL when out of memory. */
struct trace_host *trace_host_new(const struct trace_shape *shape, uint32_t index);
void trace_host_free(struct trace_host *h);

/* Advances to the next interval and returns its batch, valid until the next
 * call. seq is the batch's sequence number (the caller's; it must keep
 * increasing). NULL after the trace's last interval. */
const Vigil__Batch *trace_host_next(struct trace_host *h, uint64_t seq);

/* Intervals generated so far. */
uint32_t trace_host_position(const struct trace_host *h);

/* The series number of (vm, metric) of host index, unique in the trace:
 * what a plain one-row-per-sample table would key on. */
uint64_t trace_series_id(const struct trace_shape *s, uint32_t host_index, uint32_t vm, uint32_t metric);

/* Packs a batch into an Envelope in buf (room for at least
 * trace_envelope_size bytes). Returns the length. */
size_t trace_envelope_size(const Vigil__Batch *b);
size_t trace_envelope_pack(const Vigil__Batch *b, uint8_t *buf);

#endif
