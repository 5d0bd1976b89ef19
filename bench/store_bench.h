/* The store benchmark's phases and what they share. Each phase starts its
 * own collectors on fresh databases in the benchmark's directory, drives
 * them with simulated probes and prints its figures; the headline figures
 * are also collected for the summary table at the end. */
#ifndef VIGIL_BENCH_STORE_BENCH_H
#define VIGIL_BENCH_STORE_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "bench_stats.h"
#include "sim_probes.h"
#include "trace.h"
#include "vigil.pb-c.h"

#define MAX_FIGURES 40

struct figure {
	char name[64];
	char measured[64];
	char target[48];
};

struct bench_ctx {
	const char *bin_dir;     /* vigil-collector and vigilctl */
	char dir[256];           /* databases, sockets, logs */
	int full;                /* the reference sizes */
	unsigned repeats;        /* runs per measured point */
	unsigned ingest_repeats; /* runs of the whole ingest trace */
	struct trace_shape shape;/* the ingest trace; other phases derive from it */
	const char *workers_opt; /* the collector's worker-thread option, or NULL */
	unsigned status_vms;     /* VMs for the status query */
	uint64_t disk_budget;    /* bytes the work directory may hold */
	char guard_reason[400];  /* why the disk guard stopped a run */
	struct figure figures[MAX_FIGURES];
	size_t n_figures;
	int failed;              /* a phase could not run: exit non-zero */
};

void figure_add(struct bench_ctx *c, const char *name, const char *target, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void figures_print(const struct bench_ctx *c);

/* Collector-side stage times between two StatsReply snapshots, printed as
 * time per batch; rtt (sender request->ack, µs) may be NULL. */
void stages_print(const char *indent, const Vigil__StatsReply *before, const Vigil__StatsReply *after,
		  const struct summary *rtt_us);

/* "1,234,567" into buf. */
const char *fmt_count(char *buf, size_t len, double v);

/* A collector that never checkpoints its WAL can write tens of GB a
 * minute: every load stops before the work directory exceeds the budget or
 * the file system's free space falls under 5 GiB. 1 (and the reason in
 * c->guard_reason) when a run must stop. */
int disk_guard(struct bench_ctx *c);
/* Allocated bytes of the files in dir. */
uint64_t dir_bytes(const char *dir);
/* disk_guard as a load_spec progress callback (arg: the bench_ctx). */
int guard_progress(uint64_t samples_acked, void *arg);

/* A load spec that sends the whole of shape to url, under the disk guard. */
struct load_spec load_whole_trace(struct bench_ctx *c, const char *url, const struct trace_shape *shape);

int phase_ingest(struct bench_ctx *c);
int phase_queries(struct bench_ctx *c);
int phase_history(struct bench_ctx *c);
int phase_scale(struct bench_ctx *c);
int phase_churn(struct bench_ctx *c);

#endif
