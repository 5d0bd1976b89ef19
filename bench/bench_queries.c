/* Query times through vigilctl, as an operator runs it: status over 10,000
 * VMs and one metric's 30-day history at a 1-hour step, each through the
 * collector (nng) and through --db. Building the 10,000-VM database also
 * measures the collector's RSS as VMs (and their open intervals) grow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_proc.h"
#include "clock.h"
#include "store_bench.h"

#define QUERY_RUNS 7
#define STATUS_STAGES 4
#define STATUS_VMS_PER_HOST 500
#define STATUS_INTERVALS 3
#define DAY_MS (24LL * 3600 * 1000)

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int ch;
	while (f && (ch = getc(f)) != EOF)
		n += ch == '\n';
	if (f)
		fclose(f);
	return n;
}

/* Runs argv once to check it works (its output in out_path must have at
 * least min_lines lines), then QUERY_RUNS times with output discarded.
 * Times in ms into *s. 0, or -1 with a message in err. */
static int time_command(char *const argv[], const char *out_path, long min_lines, struct summary *s, char *err,
			size_t errlen)
{
	double secs, ms[QUERY_RUNS];
	int status = run_timed(argv, out_path, NULL, &secs);
	long lines = count_lines(out_path);
	if (status != 0 || lines < min_lines) {
		snprintf(err, errlen, "%s ... %s exited %d with %ld lines of output (want %ld or more)", argv[0],
			 argv[3] ? argv[3] : "", status, lines, min_lines);
		return -1;
	}
	for (int i = 0; i < QUERY_RUNS; i++) {
		if (run_timed(argv, NULL, NULL, &secs) != 0) {
			snprintf(err, errlen, "%s failed on run %d", argv[0], i + 2);
			return -1;
		}
		ms[i] = secs * 1e3;
	}
	*s = summarize(ms, QUERY_RUNS);
	return 0;
}

static void print_timing(const char *what, const struct summary *s)
{
	printf("  %-44s median %7.1f ms, mean %.1f +- %.1f ms, min %.1f ms (%zu runs)\n", what, s->median, s->mean,
	       s->ci95, s->min, s->n);
}

/* Fills the collector with status_vms VMs in STATUS_STAGES steps, printing
 * its RSS after each. */
static int grow_vms(struct bench_ctx *c, const struct collector_proc *cp, char *err, size_t errlen)
{
	long rss[STATUS_STAGES + 1];
	unsigned per_stage = c->status_vms / STATUS_STAGES;
	struct trace_shape s = c->shape;
	s.hosts = (per_stage + STATUS_VMS_PER_HOST - 1) / STATUS_VMS_PER_HOST;
	s.vms_per_host = per_stage / s.hosts;
	s.intervals = STATUS_INTERVALS;
	s.interval_ms = 1000;
	rss[0] = proc_status_kib(cp->pid, "VmRSS");
	printf("  collector RSS with 0 VMs: %.1f MiB\n", rss[0] / 1024.0);
	for (unsigned st = 0; st < STATUS_STAGES; st++) {
		s.first_host = 1000 + st * s.hosts;
		trace_shape_end_at(&s, clock_realtime_ms());
		struct load_spec spec = load_whole_trace(c, cp->url, &s);
		struct load_result lr;
		if (load_run(&spec, &lr, err, errlen) < 0)
			return -1;
		int complete = lr.samples == trace_total_samples(&s) && !lr.rejected;
		double rate = (double)lr.samples / lr.elapsed_s;
		load_result_free(&lr);
		if (!complete) {
			snprintf(err, errlen, "filling the status database: %s",
				 lr.rejected ? lr.first_rejection : lr.stopped_early ? c->guard_reason : "incomplete");
			return -1;
		}
		rss[st + 1] = proc_status_kib(cp->pid, "VmRSS");
		printf("  collector RSS with %5u VMs (%u open series): %.1f MiB (this step %.0f samples/s)\n",
		       (st + 1) * s.hosts * s.vms_per_host, (st + 1) * s.hosts * s.vms_per_host * s.metrics,
		       rss[st + 1] / 1024.0, rate);
	}
	unsigned vms = STATUS_STAGES * s.hosts * s.vms_per_host;
	double per_vm = (double)(rss[STATUS_STAGES] - rss[1]) * 1024.0 / (double)(vms - vms / STATUS_STAGES);
	printf("  RSS growth from %u to %u VMs: %.0f bytes per added VM (%.1f per open series)\n", vms / STATUS_STAGES,
	       vms, per_vm, per_vm / s.metrics);
	figure_add(c, "collector RSS, 2,500 -> 10,000 VMs", "grows with VMs", "%.1f -> %.1f MiB", rss[1] / 1024.0,
		   rss[STATUS_STAGES] / 1024.0);
	return 0;
}

static int time_status(struct bench_ctx *c, const struct collector_proc *cp, char *err, size_t errlen)
{
	char vigilctl[320], out[320];
	struct summary nng, db, floor;
	snprintf(vigilctl, sizeof(vigilctl), "%s/vigilctl", c->bin_dir);
	snprintf(out, sizeof(out), "%s/status.out", c->dir);
	char *via_nng[] = { vigilctl, "--collector", (char *)cp->url, "--timeout", "60000", "status", NULL };
	char *via_db[] = { vigilctl, "--db", (char *)cp->db, "status", NULL };
	char *metrics[] = { vigilctl, "metrics", NULL };
	if (time_command(via_nng, out, c->status_vms, &nng, err, errlen) < 0 ||
	    time_command(via_db, out, c->status_vms, &db, err, errlen) < 0 ||
	    time_command(metrics, out, 1, &floor, err, errlen) < 0)
		return -1;
	print_timing("vigilctl status, 10,000 VMs, via the collector", &nng);
	print_timing("vigilctl --db FILE status, 10,000 VMs", &db);
	print_timing("vigilctl metrics (start-up floor, no query)", &floor);
	figure_add(c, "vigilctl status, 10,000 VMs (nng), median", "<= 50 ms", "%.1f ms", nng.median);
	figure_add(c, "vigilctl --db status, 10,000 VMs, median", "<= 50 ms", "%.1f ms", db.median);
	return 0;
}

int phase_queries(struct bench_ctx *c)
{
	char err[600];
	struct collector_proc cp;
	printf("\n== Queries: vigilctl status over %u VMs; collector RSS as VMs grow\n", c->status_vms);
	if (collector_start(&cp, c->bin_dir, c->dir, "status", NULL, err, sizeof(err)) < 0) {
		printf("  FAILED: %s\n", err);
		c->failed = 1;
		return -1;
	}
	int rc = grow_vms(c, &cp, err, sizeof(err));
	if (rc == 0)
		rc = time_status(c, &cp, err, sizeof(err));
	collector_stop(&cp);
	if (rc < 0) {
		printf("  FAILED: %s\n", err);
		c->failed = 1;
	}
	return rc;
}

/* 30 days (plus a margin) of a few VMs, at a coarse interval so the default
 * run stays short; --full uses 60 s. */
static struct trace_shape history_shape(const struct bench_ctx *c)
{
	struct trace_shape s = c->shape;
	s.hosts = 4;
	s.vms_per_host = 2;
	s.first_host = 3000;
	s.interval_ms = c->full ? 60000 : 600000;
	s.intervals = (uint32_t)((30 * DAY_MS + 3600000) / s.interval_ms);
	trace_shape_end_at(&s, clock_realtime_ms());
	return s;
}

/* Times the history command both ways; `settled` runs add the figures. */
static int time_history(struct bench_ctx *c, const struct collector_proc *cp, int settled, char *err, size_t errlen)
{
	char vigilctl[320], out[320];
	struct summary nng, db;
	snprintf(vigilctl, sizeof(vigilctl), "%s/vigilctl", c->bin_dir);
	snprintf(out, sizeof(out), "%s/history.out", c->dir);
	char *via_nng[] = { vigilctl, "--collector", (char *)cp->url, "--timeout", "60000", "history",
			    "bench-h3000-vm0000", "cpu.used_pct", "--since", "-30d", "--step", "1h", NULL };
	char *via_db[] = { vigilctl, "--db", (char *)cp->db, "history", "bench-h3000-vm0000", "cpu.used_pct",
			   "--since", "-30d", "--step", "1h", NULL };
	/* 30 days at 1 h: about 720 rows, whatever the layout around them. */
	if (time_command(via_db, out, 600, &db, err, errlen) < 0 ||
	    time_command(via_nng, out, 600, &nng, err, errlen) < 0)
		return -1;
	print_timing("vigilctl history, 30 days at 1 h, via the collector", &nng);
	print_timing("vigilctl --db FILE history, 30 days at 1 h", &db);
	if (!settled)
		return 0;
	figure_add(c, "vigilctl history 30 d at 1 h (nng), median", "<= 20 ms", "%.1f ms", nng.median);
	figure_add(c, "vigilctl --db history 30 d at 1 h, median", "<= 20 ms", "%.1f ms", db.median);
	return 0;
}

int phase_history(struct bench_ctx *c)
{
	static const char *const help[] = { "--help", NULL };
	char err[600], n[32];
	printf("\n== History: vigilctl history VM cpu.used_pct --since -30d --step 1h\n");
	if (!program_help_mentions(c->bin_dir, "vigilctl", help, "history")) {
		printf("  not available: %s/vigilctl --help lists no history command\n", c->bin_dir);
		figure_add(c, "vigilctl history 30 d at 1 h, median", "<= 20 ms", "not available");
		return 0;
	}
	struct trace_shape s = history_shape(c);
	struct collector_proc cp;
	printf("  trace: %u hosts x %u VMs x %u metrics, %u s interval, %u intervals (30 days) = %s samples\n", s.hosts,
	       s.vms_per_host, s.metrics, s.interval_ms / 1000, s.intervals,
	       fmt_count(n, sizeof(n), (double)trace_total_samples(&s)));
	if (collector_start(&cp, c->bin_dir, c->dir, "history", NULL, err, sizeof(err)) < 0) {
		printf("  FAILED: %s\n", err);
		c->failed = 1;
		return -1;
	}
	struct load_spec spec = load_whole_trace(c, cp.url, &s);
	struct load_result lr;
	int rc = load_run(&spec, &lr, err, sizeof(err));
	if (rc == 0 && (lr.rejected || lr.samples != trace_total_samples(&s))) {
		snprintf(err, sizeof(err), "30-day trace: %s",
			 lr.rejected ? lr.first_rejection : lr.stopped_early ? c->guard_reason : "incomplete");
		rc = -1;
	}
	if (rc == 0) {
		printf("  sent in %.1f s (%.0f samples/s)\n", lr.elapsed_s, (double)lr.samples / lr.elapsed_s);
		/* Sent in seconds, the 30 days are all in the journal, which a
		 * running collector flushes into segments every 10 minutes;
		 * the figure is taken after a restart has flushed them. */
		printf("  with the 30 days still in the collector's journal (unflushed):\n");
		rc = time_history(c, &cp, 0, err, sizeof(err));
	}
	if (rc == 0)
		rc = collector_restart(&cp, c->bin_dir, err, sizeof(err));
	if (rc == 0) {
		printf("  after a restart, the journal flushed into segments as a running collector keeps it:\n");
		rc = time_history(c, &cp, 1, err, sizeof(err));
	}
	load_result_free(&lr);
	collector_stop(&cp);
	if (rc < 0) {
		printf("  FAILED: %s\n", err);
		c->failed = 1;
	}
	return rc;
}
