/* store_bench: the collector's figures for issue 4, measured end to end
 * against real vigil-collector processes on fresh SQLite files, driven by
 * simulated probes over nng (ipc://, in a private temporary directory).
 *
 *   store_bench [--bin DIR] [--full] [--only PHASES] [shape options]
 *
 * Phases: ingest (with the raw SQLite baseline and bytes per sample),
 * queries (vigilctl status over 10,000 VMs, RSS as VMs grow), history
 * (vigilctl history over 30 days), scale (degradation, speedup, aggregate)
 * and churn (RSS as probes connect and disconnect). It depends only on the
 * wire format, the programs' options and the database file's size, so it
 * keeps working as the store changes behind them. */
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_proc.h"
#include "clock.h"
#include "store_bench.h"

#define PHASE_INGEST 1u
#define PHASE_QUERIES 2u
#define PHASE_HISTORY 4u
#define PHASE_SCALE 8u
#define PHASE_CHURN 16u
#define PHASE_ALL 31u

struct options {
	struct bench_ctx ctx;
	const char *parent_dir;
	unsigned phases;
	int keep;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: store_bench [OPTIONS]\n"
		"\n"
		"Measures vigil-collector end to end: ingest rate next to a raw SQLite insert of the\n"
		"same samples, bytes on disk per sample, vigilctl query times, scalability (1 ->\n"
		"1,000 probes; worker threads) and memory. Starts its own collectors on fresh\n"
		"databases in a temporary directory and talks to them over ipc://.\n"
		"\n"
		"Options:\n"
		"  --bin DIR            where vigil-collector and vigilctl are (default build/bin)\n"
		"  --dir DIR            parent of the temporary directory (default /tmp)\n"
		"  --full               the issue's reference trace: 1 hour of 1 s intervals\n"
		"                       (108 M samples) and a longer history trace\n"
		"  --only LIST          phases, comma-separated: ingest, queries, history, scale, churn\n"
		"  --repeats N          runs per measured point (default 3; the --full ingest: 1)\n"
		"  --workers-option OPT the collector's worker-thread option, if --help does not\n"
		"                       show --workers or --threads\n"
		"  --keep               keep the temporary directory (databases, collector logs)\n"
		"  --disk-budget-gib N  stop a run before its files exceed N GiB (default 20), or\n"
		"                       when less than 5 GiB are left on the file system\n"
		"Trace shape (ingest phase; defaults in brackets):\n"
		"  --hosts N [10]  --vms N (per host) [100]  --metrics N [30]  --interval-ms N [1000]\n"
		"  --intervals N [60; 3600 with --full]  --idle-share F [0.5]  --vary-rate F [0.8]\n"
		"  --steady-rate F [0.01]  --seed N [1]\n"
		"\n"
		"Exit status: 0 when every phase ran, 1 when one could not, 2 on a usage error.\n");
}

static int parse_phases(const char *list, unsigned *out)
{
	static const char *const names[] = { "ingest", "queries", "history", "scale", "churn" };
	char copy[128];
	snprintf(copy, sizeof(copy), "%s", list);
	*out = 0;
	for (char *save = NULL, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		unsigned i = 0;
		while (i < 5 && strcmp(w, names[i]) != 0)
			i++;
		if (i == 5)
			return -1;
		*out |= 1u << i;
	}
	return *out ? 0 : -1;
}

static int parse_number(const char *opt, const char *text, double min, double max, double *out)
{
	char *end;
	double v = strtod(text, &end);
	if (end == text || *end || !(v >= min && v <= max)) {
		fprintf(stderr, "store_bench: --%s '%s': want a number in %g..%g\n", opt, text, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

enum { O_BIN = 256, O_DIR, O_FULL, O_ONLY, O_REPEATS, O_WORKERS, O_KEEP, O_HOSTS, O_VMS, O_METRICS,
       O_INTERVAL, O_INTERVALS, O_IDLE, O_VARY, O_STEADY, O_SEED, O_BUDGET, O_HELP };

/* The numeric options: where each goes and its bounds. */
static int set_number(struct options *o, int opt, const char *name, const char *text, int *intervals_given)
{
	struct trace_shape *s = &o->ctx.shape;
	double v;
	static const struct { int opt; double min, max; } bounds[] = {
		{ O_REPEATS, 1, 16 },	  { O_HOSTS, 1, 1000 },	      { O_VMS, 1, 10000 },    { O_METRICS, 1, 40 },
		{ O_INTERVAL, 100, 3600000 }, { O_INTERVALS, 1, 1e7 }, { O_IDLE, 0, 1 },	      { O_VARY, 0, 1 },
		{ O_STEADY, 0, 1 },	  { O_SEED, 0, 1e15 },	      { O_BUDGET, 1, 100000 },
	};
	size_t i = 0;
	while (bounds[i].opt != opt)
		i++;
	if (parse_number(name, text, bounds[i].min, bounds[i].max, &v) < 0)
		return -1;
	switch (opt) {
	case O_REPEATS: o->ctx.repeats = o->ctx.ingest_repeats = (unsigned)v; break;
	case O_HOSTS: s->hosts = (uint32_t)v; break;
	case O_VMS: s->vms_per_host = (uint32_t)v; break;
	case O_METRICS: s->metrics = (uint32_t)v; break;
	case O_INTERVAL: s->interval_ms = (uint32_t)v; break;
	case O_INTERVALS: s->intervals = (uint32_t)v; *intervals_given = 1; break;
	case O_IDLE: s->idle_share = v; break;
	case O_VARY: s->vary_rate = v; break;
	case O_STEADY: s->steady_rate = v; break;
	case O_SEED: s->seed = (uint64_t)v; break;
	case O_BUDGET: o->ctx.disk_budget = (uint64_t)v << 30; break;
	}
	return 0;
}

/* 0 to run, 1 to exit 0 (help), 2 on a usage error. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "bin", required_argument, NULL, O_BIN },	     { "dir", required_argument, NULL, O_DIR },
		{ "full", no_argument, NULL, O_FULL },		     { "only", required_argument, NULL, O_ONLY },
		{ "repeats", required_argument, NULL, O_REPEATS },   { "workers-option", required_argument, NULL, O_WORKERS },
		{ "keep", no_argument, NULL, O_KEEP },		     { "hosts", required_argument, NULL, O_HOSTS },
		{ "vms", required_argument, NULL, O_VMS },	     { "metrics", required_argument, NULL, O_METRICS },
		{ "interval-ms", required_argument, NULL, O_INTERVAL }, { "intervals", required_argument, NULL, O_INTERVALS },
		{ "idle-share", required_argument, NULL, O_IDLE },   { "vary-rate", required_argument, NULL, O_VARY },
		{ "steady-rate", required_argument, NULL, O_STEADY }, { "seed", required_argument, NULL, O_SEED },
		{ "disk-budget-gib", required_argument, NULL, O_BUDGET },
		{ "help", no_argument, NULL, O_HELP },		     { NULL, 0, NULL, 0 },
	};
	int intervals_given = 0, c;
	memset(o, 0, sizeof(*o));
	o->ctx.bin_dir = "build/bin";
	o->ctx.repeats = 3;
	o->ctx.ingest_repeats = 0; /* 0: as --repeats, or 1 with --full */
	o->ctx.status_vms = 10000;
	o->ctx.disk_budget = 20ull << 30;
	o->parent_dir = "/tmp";
	o->phases = PHASE_ALL;
	trace_shape_defaults(&o->ctx.shape);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_BIN: o->ctx.bin_dir = optarg; break;
		case O_DIR: o->parent_dir = optarg; break;
		case O_FULL: o->ctx.full = 1; break;
		case O_KEEP: o->keep = 1; break;
		case O_WORKERS: o->ctx.workers_opt = optarg; break;
		case O_HELP: usage(stdout); return 1;
		case O_ONLY:
			if (parse_phases(optarg, &o->phases) < 0) {
				fprintf(stderr, "store_bench: --only '%s': use ingest, queries, history, scale, churn\n",
					optarg);
				return 2;
			}
			break;
		case '?':
			fprintf(stderr, "store_bench: unknown option '%s'; see --help\n", argv[optind - 1]);
			return 2;
		default: {
			size_t i = 0;
			while (opts[i].val != c)
				i++;
			if (set_number(o, c, opts[i].name, optarg, &intervals_given) < 0)
				return 2;
		}
		}
	}
	if (optind < argc) {
		fprintf(stderr, "store_bench: unexpected argument '%s'; see --help\n", argv[optind]);
		return 2;
	}
	if (o->ctx.full && !intervals_given)
		o->ctx.shape.intervals = 3600;
	/* The reference trace takes long; one run unless asked for more. */
	if (!o->ctx.ingest_repeats)
		o->ctx.ingest_repeats = o->ctx.full ? 1 : o->ctx.repeats;
	return 0;
}

/* 1,000 probes need 1,000 sockets here and in the collector, which
 * inherits this limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192) {
		rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The share of samples that differ from their series' previous reading,
 * over the trace's first intervals: what coalescing has to work with. */
static double change_share(const struct trace_shape *shape, uint32_t max_intervals)
{
	struct trace_shape s = *shape;
	s.intervals = s.intervals < max_intervals ? s.intervals : max_intervals;
	size_t series = (size_t)s.vms_per_host * s.metrics;
	double *prev = malloc(series * sizeof(*prev));
	uint64_t changed = 0, compared = 0;
	for (uint32_t h = 0; prev && h < s.hosts; h++) {
		struct trace_host *g = trace_host_new(&s, h);
		const Vigil__Batch *b;
		for (uint64_t k = 0; g && (b = trace_host_next(g, k + 1)); k++) {
			for (size_t i = 0; i < series; i++) {
				double v = b->vms[i / s.metrics]->samples[i % s.metrics]->value;
				changed += k > 0 && v != prev[i];
				prev[i] = v;
			}
			compared += k > 0 ? series : 0;
		}
		trace_host_free(g);
	}
	free(prev);
	return compared ? (double)changed / (double)compared : 0;
}

static void describe_trace(const struct bench_ctx *c)
{
	const struct trace_shape *s = &c->shape;
	char n[32];
	printf("trace: %u hosts x %u VMs x %u metrics, %u ms interval, %u intervals = %s samples (seed %llu)\n",
	       s->hosts, s->vms_per_host, s->metrics, s->interval_ms, s->intervals,
	       fmt_count(n, sizeof(n), (double)trace_total_samples(s)), (unsigned long long)s->seed);
	printf("       %.0f%% of VMs idle (flat); on busy VMs %.0f%% of CPU/disk/net and %.1f%% of memory/state\n"
	       "       readings change per interval: %.1f%% of all samples differ from the previous reading\n",
	       100 * s->idle_share, 100 * s->vary_rate, 100 * s->steady_rate, 100 * change_share(s, 120));
}

static void detect_workers_option(struct bench_ctx *c)
{
	static const char *const help[] = { "--help", NULL };
	if (c->workers_opt)
		return;
	if (program_help_mentions(c->bin_dir, "vigil-collector", help, "--workers"))
		c->workers_opt = "--workers";
	else if (program_help_mentions(c->bin_dir, "vigil-collector", help, "--threads"))
		c->workers_opt = "--threads";
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	switch (parse_args(argc, argv, &o)) {
	case 1:
		return 0;
	case 2:
		return 2;
	}
	struct bench_ctx *c = &o.ctx;
	char err[256];
	trace_shape_end_at(&c->shape, clock_realtime_ms());
	if (trace_shape_check(&c->shape, err, sizeof(err)) < 0) {
		fprintf(stderr, "store_bench: %s\n", err);
		return 2;
	}
	snprintf(c->dir, sizeof(c->dir), "%s/vigil-bench.XXXXXX", o.parent_dir);
	if (!mkdtemp(c->dir)) {
		perror("store_bench: creating the temporary directory");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	raise_fd_limit();
	detect_workers_option(c);
	printf("\n== Store benchmark: %s/vigil-collector, work files in %s%s\n", c->bin_dir, c->dir,
	       c->full ? " (full: reference sizes)" : "");
	describe_trace(c);

	if (o.phases & PHASE_INGEST)
		phase_ingest(c);
	if (o.phases & PHASE_QUERIES)
		phase_queries(c);
	if (o.phases & PHASE_HISTORY)
		phase_history(c);
	if (o.phases & PHASE_SCALE)
		phase_scale(c);
	if (o.phases & PHASE_CHURN)
		phase_churn(c);
	figures_print(c);

	if (o.keep)
		printf("\nwork files kept in %s\n", c->dir);
	else
		nftw(c->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return c->failed ? 1 : 0;
}
