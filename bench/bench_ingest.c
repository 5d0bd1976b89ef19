/* Ingest end to end, the raw SQLite baseline on the same samples, bytes on
 * disk per sample, and the collector's RSS as samples accumulate. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_proc.h"
#include "sqlite_baseline.h"
#include "store_bench.h"

/* While the trace is sent: the collector's RSS at each quarter of it, the
 * most the work directory held, and the disk guard. */
struct ingest_watch {
	struct bench_ctx *ctx;
	pid_t pid;
	uint64_t total;
	int quarters;
	long rss_kib[4];
	uint64_t peak_bytes;
};

static int watch_progress(uint64_t acked, void *arg)
{
	struct ingest_watch *w = arg;
	uint64_t bytes = dir_bytes(w->ctx->dir);
	if (bytes > w->peak_bytes)
		w->peak_bytes = bytes;
	while (w->quarters < 4 && acked >= w->total * (uint64_t)(w->quarters + 1) / 4)
		w->rss_kib[w->quarters++] = proc_status_kib(w->pid, "VmRSS");
	return disk_guard(w->ctx);
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
	double peak_bytes_per_sample; /* the most on disk while ingesting */
	double cpu_us_per_sample, baseline_cpu_us_per_sample;
	double collector_cpu_s, sender_cpu_s;
	uint64_t samples;     /* acknowledged; fewer than the trace's if the disk guard stopped it */
};

static int check_load(const struct load_result *lr, uint64_t expected, char *err, size_t errlen)
{
	if (lr->rejected) {
		snprintf(err, errlen, "the collector rejected %llu batch(es); first: %s",
			 (unsigned long long)lr->rejected, lr->first_rejection);
		return -1;
	}
	if (lr->samples != expected && !lr->stopped_early) {
		snprintf(err, errlen, "only %llu of %llu samples were acknowledged within the time limit",
			 (unsigned long long)lr->samples, (unsigned long long)expected);
		return -1;
	}
	return 0;
}

static void print_run(struct bench_ctx *c, unsigned r, const struct load_result *lr, const struct ingest_run *out,
		      const Vigil__StatsReply *s0, const Vigil__StatsReply *s1)
{
	char n1[32], n2[32];
	struct summary rtt = summarize(lr->latency_us, lr->n_latency);
	printf("  run %u: %s samples in %.2f s = %s samples/s; collector CPU %.1f s (%.2f us per sample), "
	       "sender CPU %.1f s; %llu resent\n",
	       r + 1, fmt_count(n1, sizeof(n1), (double)lr->samples), lr->elapsed_s, fmt_count(n2, sizeof(n2), out->rate),
	       out->collector_cpu_s, out->cpu_us_per_sample, out->sender_cpu_s,
	       (unsigned long long)(lr->timeouts + lr->storage_retries));
	if (lr->stopped_early)
		printf("    STOPPED EARLY by the disk guard: %s; the figures below cover the samples sent so far\n",
		       c->guard_reason);
	stages_print("    ", s0, s1, &rtt);
	if (s1 && s0 && s1->samples - s0->samples != lr->samples)
		printf("    WARNING: the collector counted %llu samples stored, the probes %llu acknowledged\n",
		       (unsigned long long)(s1->samples - s0->samples), (unsigned long long)lr->samples);
}

static void print_memory(struct bench_ctx *c, const struct ingest_watch *w, long hwm_kib)
{
	if (w->quarters < 4)
		return;
	printf("    collector RSS at 25/50/75/100%% of the samples: %.1f / %.1f / %.1f / %.1f MiB "
	       "(peak %.1f MiB)\n",
	       w->rss_kib[0] / 1024.0, w->rss_kib[1] / 1024.0, w->rss_kib[2] / 1024.0, w->rss_kib[3] / 1024.0,
	       hwm_kib / 1024.0);
	figure_add(c, "collector RSS, 25% -> 100% of samples", "flat (bounded by VMs)", "%.1f -> %.1f MiB",
		   w->rss_kib[0] / 1024.0, w->rss_kib[3] / 1024.0);
}

/* Stops the collector cleanly, then measures what it left on disk. */
static int finish_collector(struct collector_proc *cp, struct ingest_run *out, char *err, size_t errlen)
{
	uint64_t bytes;
	if (collector_stop(cp) != 0) {
		snprintf(err, errlen, "the collector did not stop cleanly (see %s)", cp->log);
		return -1;
	}
	if (storage_bytes(cp->db, &bytes, err, errlen) < 0)
		return -1;
	out->bytes_per_sample = (double)bytes / (double)out->samples;
	unlink(cp->db);
	return 0;
}

static int collector_part(struct bench_ctx *c, unsigned r, struct ingest_run *out, char *err, size_t errlen)
{
	char name[32];
	struct collector_proc cp;
	snprintf(name, sizeof(name), "ingest%u", r);
	if (collector_start(&cp, c->bin_dir, c->dir, name, NULL, err, errlen) < 0)
		return -1;
	Vigil__StatsReply *s0 = NULL, *s1 = NULL;
	int have_stats = collector_stats(cp.url, &s0, err, errlen) == 0;
	double cpu0 = proc_cpu_seconds(cp.pid);
	struct ingest_watch w = { .ctx = c, .pid = cp.pid, .total = trace_total_samples(&c->shape) };
	struct load_spec spec = load_whole_trace(c, cp.url, &c->shape);
	spec.progress = watch_progress;
	spec.progress_arg = &w;
	struct load_result lr;
	int rc = load_run(&spec, &lr, err, errlen);
	if (rc == 0)
		rc = check_load(&lr, w.total, err, errlen);
	if (rc == 0) {
		if (have_stats)
			collector_stats(cp.url, &s1, err, errlen);
		watch_progress(lr.samples, &w); /* the final sizes */
		out->collector_cpu_s = proc_cpu_seconds(cp.pid) - cpu0;
		out->sender_cpu_s = lr.sender_cpu_s;
		out->samples = lr.samples;
		out->rate = (double)lr.samples / lr.elapsed_s;
		out->cpu_us_per_sample = out->collector_cpu_s * 1e6 / (double)lr.samples;
		out->peak_bytes_per_sample = (double)w.peak_bytes / (double)lr.samples;
		print_run(c, r, &lr, out, s0, s1);
		if (r == 0)
			print_memory(c, &w, proc_status_kib(cp.pid, "VmHWM"));
		printf("    most on disk while ingesting (db, -wal, -shm): %.1f MiB = %.2f bytes per sample\n",
		       w.peak_bytes / 1048576.0, out->peak_bytes_per_sample);
		if (lr.stopped_early)
			c->failed = 1;
	}
	load_result_free(&lr);
	vigil__stats_reply__free_unpacked(s0, NULL);
	vigil__stats_reply__free_unpacked(s1, NULL);
	if (rc == 0)
		return finish_collector(&cp, out, err, errlen);
	collector_stop(&cp);
	return rc;
}

/* Passes of the baseline per run: it is short and fsync-bound, so one
 * pass is at the mercy of whatever else the disk is doing; the median of
 * three is steadier. */
#define BASELINE_PASSES 3

/* The same samples into a plain table. After an early stop, the same
 * number of whole intervals as were sent. */
static int baseline_part(struct bench_ctx *c, struct ingest_run *out, char *err, size_t errlen)
{
	char path[300], n1[32];
	struct baseline_result br;
	struct trace_shape s = c->shape;
	double rates[BASELINE_PASSES], cpu_us[BASELINE_PASSES];
	uint64_t per_interval = trace_batch_samples(&s) * s.hosts;
	if (out->samples < trace_total_samples(&s))
		s.intervals = (uint32_t)(out->samples / per_interval > 0 ? out->samples / per_interval : 1);
	snprintf(path, sizeof(path), "%s/baseline.db", c->dir);
	for (int i = 0; i < BASELINE_PASSES; i++) {
		if (baseline_insert(&s, path, &br, err, errlen) < 0)
			return -1;
		rates[i] = (double)br.samples / br.sql_seconds;
		cpu_us[i] = br.sql_cpu_seconds * 1e6 / (double)br.samples;
		unlink(path);
	}
	struct summary sr = summarize(rates, BASELINE_PASSES);
	out->baseline_rate = sr.median;
	out->baseline_cpu_us_per_sample = summarize(cpu_us, BASELINE_PASSES).median;
	out->baseline_bytes_per_sample = (double)br.bytes / (double)br.samples;
	printf("    raw SQLite baseline: %s samples/s (median of %d passes, %.0f..%.0f; %llu transactions each), "
	       "CPU %.2f us per sample, %.2f bytes/sample\n",
	       fmt_count(n1, sizeof(n1), out->baseline_rate), BASELINE_PASSES, sr.min, sr.max,
	       (unsigned long long)br.transactions, out->baseline_cpu_us_per_sample, out->baseline_bytes_per_sample);
	return 0;
}

static void ingest_summary(struct bench_ctx *c, const struct ingest_run *runs, unsigned n)
{
	double rate[16], base[16], ratio[16], bps[16], peak[16], cpu[16], bcpu[16], cratio[16];
	char a[32], b[32], name[64];
	for (unsigned i = 0; i < n; i++) {
		rate[i] = runs[i].rate;
		base[i] = runs[i].baseline_rate;
		ratio[i] = runs[i].rate / runs[i].baseline_rate;
		bps[i] = runs[i].bytes_per_sample;
		peak[i] = runs[i].peak_bytes_per_sample;
		cpu[i] = runs[i].cpu_us_per_sample;
		bcpu[i] = runs[i].baseline_cpu_us_per_sample;
		cratio[i] = cpu[i] / bcpu[i];
	}
	struct summary sc = summarize(cpu, n), sbc = summarize(bcpu, n), scr = summarize(cratio, n);
	struct summary sr = summarize(rate, n), sb = summarize(base, n), sq = summarize(ratio, n),
		       ss = summarize(bps, n), sp = summarize(peak, n);
	printf("  ingest: %s +- %s samples/s (mean +- 95%% CI, %u runs)\n", fmt_count(a, sizeof(a), sr.mean),
	       fmt_count(b, sizeof(b), sr.ci95), n);
	printf("  raw SQLite insert of the same samples: %s +- %s samples/s (one row per sample, prepared INSERT,\n"
	       "    one transaction per batch, WAL, synchronous=FULL; time inside SQLite only)\n",
	       fmt_count(a, sizeof(a), sb.mean), fmt_count(b, sizeof(b), sb.ci95));
	printf("  ratio collector / raw SQLite: %.3f +- %.3f\n", sq.mean, sq.ci95);
	printf("  CPU per sample: collector %.2f +- %.2f us, raw SQLite %.2f +- %.2f us, ratio %.1f +- %.1f\n"
	       "    (a collector process's whole CPU time; SQLite's inside its transactions; steadier than\n"
	       "    wall-clock rates when other work shares the machine)\n",
	       sc.mean, sc.ci95, sbc.mean, sbc.ci95, scr.mean, scr.ci95);
	printf("  storage: %.2f bytes per sample after a checkpoint (raw SQLite rows: %.2f); at most %.2f while "
	       "ingesting\n",
	       ss.mean, runs[0].baseline_bytes_per_sample, sp.mean);
	figure_add(c, "ingest, samples/s end to end", ">= 1,000,000", "%s +- %s", fmt_count(a, sizeof(a), sr.mean),
		   fmt_count(b, sizeof(b), sr.ci95));
	figure_add(c, "raw SQLite insert, samples/s (same samples)", "", "%s +- %s", fmt_count(a, sizeof(a), sb.mean),
		   fmt_count(b, sizeof(b), sb.ci95));
	figure_add(c, "ingest / raw SQLite insert", "", "%.3f +- %.3f", sq.mean, sq.ci95);
	figure_add(c, "CPU us per sample: collector / raw SQLite", "< 2 needed for 1 M/s", "%.2f / %.2f (x%.1f)",
		   sc.mean, sbc.mean, scr.mean);
	if (runs[0].samples < trace_total_samples(&c->shape))
		snprintf(name, sizeof(name), "bytes/sample (PARTIAL: %s samples)",
			 fmt_count(a, sizeof(a), (double)runs[0].samples));
	else
		snprintf(name, sizeof(name), "bytes on disk per sample (%u x %u s trace)", c->shape.intervals,
			 c->shape.interval_ms / 1000);
	figure_add(c, name, c->full ? "<= 0.5" : "<= 0.5 (on the 1 h trace)", "%.2f", ss.mean);
	figure_add(c, "  most on disk while ingesting, per sample", "", "%.2f", sp.mean);
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
