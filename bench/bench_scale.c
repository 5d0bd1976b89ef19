/* Scalability in the design brief's three forms, and memory under probe
 * churn.
 *   degradation: fixed collector, rising load (1 -> 1,000 probes);
 *   speedup:     fixed load, collector worker threads 1 -> 2;
 *   aggregate:   load and worker threads doubled together (flat is good).
 * Every point runs on a fresh collector and database, repeated, and is
 * reported as a mean with a 95% confidence interval. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_proc.h"
#include "clock.h"
#include "store_bench.h"

#define SCALE_VMS_PER_PROBE 10
#define SCALE_MAX_TRACE 100000 /* intervals a probe could send; the time limits stop it first */
#define SPEEDUP_PROBES 100
#define CHURN_PROBES 200
#define CHURN_METRICS 5

static const unsigned degradation_probes[] = { 1, 10, 100, 1000 };
#define N_DEGRADATION (sizeof(degradation_probes) / sizeof(degradation_probes[0]))

struct point_run {
	double rate;    /* samples/s */
	double rtt_ms;  /* mean request -> ack */
	double p99_ms;
};

struct point {
	const char *label;
	unsigned probes;
	unsigned workers; /* 0: the collector's default */
};

static struct load_spec point_spec(struct bench_ctx *c, const char *url, unsigned probes)
{
	struct trace_shape s = c->shape;
	s.hosts = probes;
	s.vms_per_host = SCALE_VMS_PER_PROBE;
	s.first_host = 5000;
	s.interval_ms = 1000;
	s.intervals = SCALE_MAX_TRACE;
	trace_shape_end_at(&s, clock_realtime_ms());
	return (struct load_spec){
		.url = url,
		.shape = s,
		.min_seconds = c->full ? 10 : 3,
		.max_seconds = c->full ? 120 : 60,
		.min_intervals = 2,
		/* Under 1,000 probes a batch may queue for long; resending it
		 * would only add work. */
		.reply_timeout_ms = 120000,
		.seq_base = 0,
		.progress = guard_progress,
		.progress_arg = c,
	};
}

static int run_point(struct bench_ctx *c, const struct point *p, unsigned r, struct point_run *out, char *err,
		     size_t errlen)
{
	char name[48], workers[16], n1[32];
	const char *extra[] = { c->workers_opt, workers, NULL };
	struct collector_proc cp;
	snprintf(name, sizeof(name), "scale-%u-%u-%u", p->probes, p->workers, r);
	snprintf(workers, sizeof(workers), "%u", p->workers);
	if (collector_start(&cp, c->bin_dir, c->dir, name, p->workers ? extra : NULL, err, errlen) < 0)
		return -1;
	Vigil__StatsReply *s0 = NULL, *s1 = NULL;
	collector_stats(cp.url, &s0, err, errlen);
	struct load_spec spec = point_spec(c, cp.url, p->probes);
	struct load_result lr;
	int rc = load_run(&spec, &lr, err, errlen);
	if (rc == 0 && (lr.rejected || lr.stopped_early)) {
		snprintf(err, errlen, "%s", lr.rejected ? lr.first_rejection : c->guard_reason);
		rc = -1;
	}
	if (rc == 0) {
		if (s0)
			collector_stats(cp.url, &s1, err, errlen);
		struct summary rtt = summarize(lr.latency_us, lr.n_latency);
		out->rate = (double)lr.samples / lr.elapsed_s;
		out->rtt_ms = rtt.mean / 1e3;
		out->p99_ms = rtt.p99 / 1e3;
		printf("  %-12s %4u probes, run %u: %12s samples/s in %.1f s, %llu resent\n", p->label, p->probes,
		       r + 1, fmt_count(n1, sizeof(n1), out->rate), lr.elapsed_s,
		       (unsigned long long)(lr.timeouts + lr.storage_retries));
		if (r == 0)
			stages_print("      ", s0, s1, &rtt);
	}
	load_result_free(&lr);
	vigil__stats_reply__free_unpacked(s0, NULL);
	vigil__stats_reply__free_unpacked(s1, NULL);
	collector_stop(&cp);
	return rc;
}

/* Runs a point c->repeats times; summaries of rate and mean latency. */
static int measure_point(struct bench_ctx *c, const struct point *p, struct summary *rate, struct summary *rtt,
			 double *rates_out)
{
	char err[600];
	double rates[16], rtts[16];
	unsigned n = c->repeats > 16 ? 16 : c->repeats;
	for (unsigned r = 0; r < n; r++) {
		struct point_run pr = { 0 };
		if (run_point(c, p, r, &pr, err, sizeof(err)) < 0) {
			printf("  FAILED (%u probes): %s\n", p->probes, err);
			c->failed = 1;
			return -1;
		}
		rates[r] = pr.rate;
		rtts[r] = pr.rtt_ms;
		if (rates_out)
			rates_out[r] = pr.rate;
	}
	*rate = summarize(rates, n);
	*rtt = summarize(rtts, n);
	return 0;
}

static void print_point(const struct point *p, const struct summary *rate, const struct summary *rtt)
{
	char a[32], b[32];
	printf("  => %-10s %4u probes%s: %s +- %s samples/s, request->ack %.2f +- %.2f ms\n", p->label, p->probes,
	       p->workers ? (p->workers == 1 ? ", 1 worker" : ", 2 workers") : "", fmt_count(a, sizeof(a), rate->mean),
	       fmt_count(b, sizeof(b), rate->ci95), rtt->mean, rtt->ci95);
}

static void degradation(struct bench_ctx *c)
{
	struct summary rate[N_DEGRADATION], rtt[N_DEGRADATION];
	printf("\n-- degradation: one collector, 1 -> 1,000 probes of %u VMs x %u metrics each, >= %s s per point\n",
	       SCALE_VMS_PER_PROBE, c->shape.metrics, c->full ? "10" : "3");
	for (size_t i = 0; i < N_DEGRADATION; i++) {
		struct point p = { "degradation", degradation_probes[i], 0 };
		if (measure_point(c, &p, &rate[i], &rtt[i], NULL) < 0)
			return;
		print_point(&p, &rate[i], &rtt[i]);
	}
	char a[32], b[32], d[32], e[32];
	figure_add(c, "degradation: samples/s at 1/10/100/1000 probes", "", "%s/%s/%s/%s",
		   fmt_count(a, sizeof(a), rate[0].mean), fmt_count(b, sizeof(b), rate[1].mean),
		   fmt_count(d, sizeof(d), rate[2].mean), fmt_count(e, sizeof(e), rate[3].mean));
	figure_add(c, "degradation: request->ack ms, 1/10/100/1000", "", "%.1f/%.1f/%.1f/%.1f", rtt[0].mean,
		   rtt[1].mean, rtt[2].mean, rtt[3].mean);
}

/* Speedup and aggregate need a collector whose worker threads can be set. */
static void speedup_and_aggregate(struct bench_ctx *c)
{
	printf("\n-- speedup: %u probes, collector worker threads 1 -> 2\n", SPEEDUP_PROBES);
	if (!c->workers_opt) {
		printf("  not available: vigil-collector --help shows neither --workers nor --threads "
		       "(give it with --workers-option)\n");
		printf("\n-- aggregate: load and worker threads doubled together\n  not available: as above\n");
		figure_add(c, "speedup, 1 -> 2 worker threads", "", "not available");
		figure_add(c, "aggregate, (1 worker, 50) -> (2, 100 probes)", "flat", "not available");
		return;
	}
	struct point one = { "speedup", SPEEDUP_PROBES, 1 }, two = { "speedup", SPEEDUP_PROBES, 2 };
	struct summary r1, l1, r2, l2;
	double rates1[16], rates2[16], ratio[16];
	if (measure_point(c, &one, &r1, &l1, rates1) < 0 || measure_point(c, &two, &r2, &l2, rates2) < 0)
		return;
	print_point(&one, &r1, &l1);
	print_point(&two, &r2, &l2);
	for (unsigned i = 0; i < c->repeats && i < 16; i++)
		ratio[i] = rates2[i] / rates1[i];
	struct summary sp = summarize(ratio, c->repeats < 16 ? c->repeats : 16);
	printf("  speedup (2 workers / 1): %.2f +- %.2f\n", sp.mean, sp.ci95);
	figure_add(c, "speedup, 1 -> 2 worker threads", "", "%.2f +- %.2f", sp.mean, sp.ci95);

	printf("\n-- aggregate: (1 worker, %u probes) -> (2 workers, %u probes)\n", SPEEDUP_PROBES / 2,
	       SPEEDUP_PROBES);
	struct point half = { "aggregate", SPEEDUP_PROBES / 2, 1 }, doubled = { "aggregate", SPEEDUP_PROBES, 2 };
	struct summary rh, lh;
	if (measure_point(c, &half, &rh, &lh, NULL) < 0)
		return;
	print_point(&half, &rh, &lh);
	print_point(&doubled, &r2, &l2);
	printf("  per-worker throughput ratio %.2f, request->ack ratio %.2f (1.00 and 1.00 are perfectly flat)\n",
	       r2.mean / 2 / rh.mean, l2.mean / lh.mean);
	figure_add(c, "aggregate, (1 worker, 50) -> (2, 100 probes)", "flat", "per worker x%.2f, latency x%.2f",
		   r2.mean / 2 / rh.mean, l2.mean / lh.mean);
}

int phase_scale(struct bench_ctx *c)
{
	printf("\n== Scalability (%u runs per point, fresh collector each)\n", c->repeats);
	degradation(c);
	speedup_and_aggregate(c);
	return 0;
}

/* The same CHURN_PROBES probes connect, send one batch each and disconnect,
 * round after round; the collector's RSS must not keep growing. */
int phase_churn(struct bench_ctx *c)
{
	char err[600];
	unsigned rounds = c->full ? 20 : 10;
	long rss[20];
	struct collector_proc cp;
	printf("\n== Memory under probe churn: %u rounds of %u probes connecting, sending one batch, "
	       "disconnecting\n",
	       rounds, CHURN_PROBES);
	if (collector_start(&cp, c->bin_dir, c->dir, "churn", NULL, err, sizeof(err)) < 0) {
		printf("  FAILED: %s\n", err);
		c->failed = 1;
		return -1;
	}
	struct trace_shape s = c->shape;
	s.hosts = CHURN_PROBES;
	s.vms_per_host = 1;
	s.metrics = CHURN_METRICS;
	s.interval_ms = 1000;
	s.intervals = 1;
	s.first_host = 7000;
	trace_shape_end_at(&s, clock_realtime_ms() - (int64_t)rounds * s.interval_ms);
	int64_t t0 = s.t0_ms;
	int rc = 0;
	for (unsigned r = 0; r < rounds && rc == 0; r++) {
		s.t0_ms = t0 + (int64_t)r * s.interval_ms;
		struct load_spec spec = load_whole_trace(c, cp.url, &s);
		spec.seq_base = r; /* each round's batch is the next in sequence */
		struct load_result lr;
		rc = load_run(&spec, &lr, err, sizeof(err));
		if (rc == 0 && lr.batches != CHURN_PROBES) {
			snprintf(err, sizeof(err), "round %u: %llu of %u batches acknowledged%s%s", r + 1,
				 (unsigned long long)lr.batches, CHURN_PROBES, lr.rejected ? ": " : "", lr.first_rejection);
			rc = -1;
		}
		load_result_free(&lr);
		rss[r] = proc_status_kib(cp.pid, "VmRSS");
	}
	collector_stop(&cp);
	if (rc < 0) {
		printf("  FAILED: %s\n", err);
		c->failed = 1;
		return -1;
	}
	printf("  collector RSS after each round (MiB):");
	for (unsigned r = 0; r < rounds; r++)
		printf(" %.1f", rss[r] / 1024.0);
	/* Bounded state shows as a plateau: compare the two halves. */
	double first = 0, second = 0;
	for (unsigned r = 0; r < rounds / 2; r++) {
		first += (double)rss[r] / (rounds / 2);
		second += (double)rss[rounds - 1 - r] / (rounds / 2);
	}
	printf("\n  mean RSS over the first half of the rounds %.2f MiB, over the second half %.2f MiB (%+.0f KiB)\n",
	       first / 1024.0, second / 1024.0, second - first);
	figure_add(c, "collector RSS under probe churn, 1st/2nd half", "bounded", "%.2f / %.2f MiB (%u connects)",
		   first / 1024.0, second / 1024.0, rounds * CHURN_PROBES);
	return 0;
}
