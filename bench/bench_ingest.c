/* Ingest end to end, the raw SQLite baseline on the same samples, bytes on
 * disk per sample, and the collector's RSS as samples accumulate. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_proc.h"
#include "sqlite_baseline.h"
#include "store_bench.h"

/* Samples the collector's RSS at each quarter of the trace. */
struct rss_by_samples {
	pid_t pid;
	uint64_t total;
	int quarters;
	long rss_kib[4];
};

static void rss_progress(uint64_t acked, void *arg)
{
	struct rss_by_samples *r = arg;
	while (r->quarters < 4 && acked >= r->total * (uint64_t)(r->quarters + 1) / 4)
		r->rss_kib[r->quarters++] = proc_status_kib(r->pid, "VmRSS");
}

/* The database file plus its -wal after a checkpoint, with the collector
 * stopped (what an operator would see on disk). */
static int storage_bytes(const char *db, uint64_t *bytes, char *err, size_t errlen)
{
	char wal[400];
	sqlite3 *h = NULL;
	snprintf(wal, sizeof(wal), "%s-wal", db);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: checkpoint: %s", db, h ? sqlite3_errmsg(h) : "out of memory");
		sqlite3_close(h);
		return -1;
	}
	*bytes = file_size(db) + file_size(wal);
	sqlite3_close(h);
	return 0;
}

struct ingest_run {
	double rate;          /* samples/s end to end */
	double baseline_rate; /* samples/s inside SQLite */
	double bytes_per_sample, baseline_bytes_per_sample;
	double collector_cpu_s, sender_cpu_s;
};

static int check_load(const struct load_result *lr, uint64_t expected, char *err, size_t errlen)
{
	if (lr->rejected) {
		snprintf(err, errlen, "the collector rejected %llu batch(es); first: %s",
			 (unsigned long long)lr->rejected, lr->first_rejection);
		return -1;
	}
	if (lr->samples != expected) {
		snprintf(err, errlen, "only %llu of %llu samples were acknowledged within the time limit",
			 (unsigned long long)lr->samples, (unsigned long long)expected);
		return -1;
	}
	return 0;
}

static int collector_part(struct bench_ctx *c, unsigned r, struct ingest_run *out, char *err, size_t errlen)
{
	char name[32], n1[32], n2[32];
	struct collector_proc cp;
	snprintf(name, sizeof(name), "ingest%u", r);
	if (collector_start(&cp, c->bin_dir, c->dir, name, NULL, err, errlen) < 0)
		return -1;
	Vigil__StatsReply *s0 = NULL, *s1 = NULL;
	int have_stats = collector_stats(cp.url, &s0, err, errlen) == 0;
	double cpu0 = proc_cpu_seconds(cp.pid);
	struct rss_by_samples rss = { .pid = cp.pid, .total = trace_total_samples(&c->shape) };
	struct load_spec spec = load_whole_trace(cp.url, &c->shape);
	spec.progress = rss_progress;
	spec.progress_arg = &rss;
	struct load_result lr;
	int rc = load_run(&spec, &lr, err, errlen);
	if (rc == 0)
		rc = check_load(&lr, trace_total_samples(&c->shape), err, errlen);
	if (rc == 0) {
		if (have_stats)
			collector_stats(cp.url, &s1, err, errlen);
		out->collector_cpu_s = proc_cpu_seconds(cp.pid) - cpu0;
		out->sender_cpu_s = lr.sender_cpu_s;
		out->rate = (double)lr.samples / lr.elapsed_s;
		long hwm = proc_status_kib(cp.pid, "VmHWM");
		struct summary rtt = summarize(lr.latency_us, lr.n_latency);
		printf("  run %u: %s samples in %.2f s = %s samples/s; collector CPU %.1f s, sender CPU %.1f s; "
		       "%llu resent\n",
		       r + 1, fmt_count(n1, sizeof(n1), (double)lr.samples), lr.elapsed_s,
		       fmt_count(n2, sizeof(n2), out->rate), out->collector_cpu_s, out->sender_cpu_s,
		       (unsigned long long)(lr.timeouts + lr.storage_retries));
		stages_print("    ", s0, s1, &rtt, lr.elapsed_s);
		if (s1 && s0 && s1->samples - s0->samples != lr.samples)
			printf("    WARNING: the collector counted %llu samples stored, the probes %llu acknowledged\n",
			       (unsigned long long)(s1->samples - s0->samples), (unsigned long long)lr.samples);
		if (r == 0 && rss.quarters == 4) {
			printf("    collector RSS at 25/50/75/100%% of the samples: %.1f / %.1f / %.1f / %.1f MiB "
			       "(peak %.1f MiB)\n",
			       rss.rss_kib[0] / 1024.0, rss.rss_kib[1] / 1024.0, rss.rss_kib[2] / 1024.0,
			       rss.rss_kib[3] / 1024.0, hwm / 1024.0);
			figure_add(c, "collector RSS, 25% -> 100% of samples", "flat (bounded by VMs)",
				   "%.1f -> %.1f MiB", rss.rss_kib[0] / 1024.0, rss.rss_kib[3] / 1024.0);
		}
	}
	load_result_free(&lr);
	vigil__stats_reply__free_unpacked(s0, NULL);
	vigil__stats_reply__free_unpacked(s1, NULL);
	if (collector_stop(&cp) != 0 && rc == 0) {
		snprintf(err, errlen, "the collector did not stop cleanly (see %s)", cp.log);
		rc = -1;
	}
	uint64_t bytes;
	if (rc == 0 && (rc = storage_bytes(cp.db, &bytes, err, errlen)) == 0)
		out->bytes_per_sample = (double)bytes / (double)lr.samples;
	unlink(cp.db);
	return rc;
}

static int baseline_part(struct bench_ctx *c, struct ingest_run *out, char *err, size_t errlen)
{
	char path[300], n1[32];
	struct baseline_result br;
	snprintf(path, sizeof(path), "%s/baseline.db", c->dir);
	if (baseline_insert(&c->shape, path, &br, err, errlen) < 0)
		return -1;
	out->baseline_rate = (double)br.samples / br.sql_seconds;
	out->baseline_bytes_per_sample = (double)br.bytes / (double)br.samples;
	printf("    raw SQLite baseline: %s samples/s (%.2f s in SQLite, %llu transactions), %.2f bytes/sample\n",
	       fmt_count(n1, sizeof(n1), out->baseline_rate), br.sql_seconds, (unsigned long long)br.transactions,
	       out->baseline_bytes_per_sample);
	unlink(path);
	return 0;
}

static void ingest_summary(struct bench_ctx *c, const struct ingest_run *runs, unsigned n)
{
	double rate[16], base[16], ratio[16], bps[16];
	char a[32], b[32];
	for (unsigned i = 0; i < n; i++) {
		rate[i] = runs[i].rate;
		base[i] = runs[i].baseline_rate;
		ratio[i] = runs[i].rate / runs[i].baseline_rate;
		bps[i] = runs[i].bytes_per_sample;
	}
	struct summary sr = summarize(rate, n), sb = summarize(base, n), sq = summarize(ratio, n),
		       ss = summarize(bps, n);
	printf("  ingest: %s +- %s samples/s (mean +- 95%% CI, %u runs)\n", fmt_count(a, sizeof(a), sr.mean),
	       fmt_count(b, sizeof(b), sr.ci95), n);
	printf("  raw SQLite insert of the same samples: %s +- %s samples/s\n", fmt_count(a, sizeof(a), sb.mean),
	       fmt_count(b, sizeof(b), sb.ci95));
	printf("  ratio collector / raw SQLite: %.3f +- %.3f\n", sq.mean, sq.ci95);
	printf("  storage: %.2f bytes per sample (raw SQLite rows: %.2f)\n", ss.mean,
	       runs[0].baseline_bytes_per_sample);
	figure_add(c, "ingest, samples/s end to end", ">= 1,000,000", "%s +- %s", fmt_count(a, sizeof(a), sr.mean),
		   fmt_count(b, sizeof(b), sr.ci95));
	figure_add(c, "raw SQLite insert, samples/s (same samples)", "", "%s +- %s", fmt_count(a, sizeof(a), sb.mean),
		   fmt_count(b, sizeof(b), sb.ci95));
	figure_add(c, "ingest / raw SQLite insert", "", "%.3f +- %.3f", sq.mean, sq.ci95);
	char name[64];
	snprintf(name, sizeof(name), "bytes on disk per sample (%u x %u s trace)", c->shape.intervals,
		 c->shape.interval_ms / 1000);
	figure_add(c, name, c->full ? "<= 0.5" : "<= 0.5 (on the 1 h trace)", "%.2f", ss.mean);
	figure_add(c, "raw SQLite bytes per sample (same samples)", "", "%.2f", runs[0].baseline_bytes_per_sample);
}

int phase_ingest(struct bench_ctx *c)
{
	char err[600];
	struct ingest_run runs[16];
	unsigned n = c->ingest_repeats > 16 ? 16 : c->ingest_repeats;
	printf("\n== Ingest: %u probes, each one host of the trace, a fresh collector per run\n", c->shape.hosts);
	for (unsigned r = 0; r < n; r++) {
		if (collector_part(c, r, &runs[r], err, sizeof(err)) < 0 ||
		    baseline_part(c, &runs[r], err, sizeof(err)) < 0) {
			printf("  FAILED: %s\n", err);
			c->failed = 1;
			return -1;
		}
	}
	ingest_summary(c, runs, n);
	return 0;
}
