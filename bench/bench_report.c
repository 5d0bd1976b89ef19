/* Printing the store benchmark's figures. */
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "store_bench.h"

void figure_add(struct bench_ctx *c, const char *name, const char *target, const char *fmt, ...)
{
	if (c->n_figures == MAX_FIGURES)
		return;
	struct figure *f = &c->figures[c->n_figures++];
	va_list ap;
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->target, sizeof(f->target), "%s", target ? target : "");
	va_start(ap, fmt);
	vsnprintf(f->measured, sizeof(f->measured), fmt, ap);
	va_end(ap);
}

void figures_print(const struct bench_ctx *c)
{
	printf("\n== Figures\n");
	printf("%-46s  %-30s  %s\n", "figure", "measured", "target");
	for (size_t i = 0; i < c->n_figures; i++)
		printf("%-46s  %-30s  %s\n", c->figures[i].name, c->figures[i].measured, c->figures[i].target);
}

const char *fmt_count(char *buf, size_t len, double v)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%.0f", v < 0 ? -v : v);
	size_t o = 0;
	if (v < 0 && o + 1 < len)
		buf[o++] = '-';
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static const Vigil__StageTime *find_stage(const Vigil__StatsReply *r, const char *name)
{
	for (size_t i = 0; r && i < r->n_stages; i++)
		if (strcmp(r->stages[i]->stage, name) == 0)
			return r->stages[i];
	return NULL;
}

/* The stages a batch goes through once received (receive is its queueing
 * inside the collector). */
static int batch_stage(const char *name)
{
	return !strcmp(name, "receive") || !strcmp(name, "decode") || !strcmp(name, "commit") || !strcmp(name, "sla") ||
	       !strcmp(name, "ack");
}

void stages_print(const char *indent, const Vigil__StatsReply *before, const Vigil__StatsReply *after,
		  const struct summary *rtt_us)
{
	if (!after) {
		printf("%scollector stage timings: not available (the collector does not answer StatsQuery)\n", indent);
	} else {
		double in_collector_ns = 0;
		printf("%scollector, mean per occurrence:", indent);
		for (size_t i = 0; i < after->n_stages; i++) {
			const Vigil__StageTime *a = after->stages[i], *b = find_stage(before, a->stage);
			uint64_t count = a->count - (b ? b->count : 0);
			double total = (double)(a->total_ns - (b ? b->total_ns : 0));
			if (count == 0)
				continue;
			printf(" %s %.3f ms (x%llu)", a->stage, total / (double)count / 1e6, (unsigned long long)count);
			if (batch_stage(a->stage))
				in_collector_ns += total / (double)count;
		}
		printf("\n");
		uint64_t samples = after->samples - (before ? before->samples : 0);
		if (samples > 0) {
			printf("%scollector, per stored sample:", indent);
			for (size_t i = 0; i < after->n_stages; i++) {
				const Vigil__StageTime *a = after->stages[i], *b = find_stage(before, a->stage);
				double total = (double)(a->total_ns - (b ? b->total_ns : 0));
				if (batch_stage(a->stage))
					printf(" %s %.3f us", a->stage, total / (double)samples / 1e3);
			}
			printf("\n");
		}
		/* Requests overlap in the pipeline, so stage times are wall time
		 * per request, not CPU (store_bench measures CPU apart). */
		if (rtt_us && rtt_us->n)
			printf("%stransport and queueing (request->ack minus the collector's batch stages): %.3f ms "
			       "per batch\n",
			       indent, rtt_us->mean / 1e3 - in_collector_ns / 1e6);
	}
	if (rtt_us && rtt_us->n)
		printf("%ssender request->ack: mean %.3f ms, median %.3f, p99 %.3f, max %.3f ms over %zu batches\n",
		       indent, rtt_us->mean / 1e3, rtt_us->median / 1e3, rtt_us->p99 / 1e3, rtt_us->max / 1e3,
		       rtt_us->n);
}

uint64_t dir_bytes(const char *dir)
{
	uint64_t total = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[600];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_blocks * 512;
	}
	if (d)
		closedir(d);
	return total;
}

#define FREE_FLOOR (5ull << 30)

int disk_guard(struct bench_ctx *c)
{
	struct statvfs vfs;
	uint64_t used = dir_bytes(c->dir);
	if (used > c->disk_budget) {
		snprintf(c->guard_reason, sizeof(c->guard_reason),
			 "the benchmark's files reached %.1f GiB, over the %.0f GiB budget (--disk-budget-gib)",
			 used / 1073741824.0, c->disk_budget / 1073741824.0);
		return 1;
	}
	if (statvfs(c->dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < FREE_FLOOR) {
		snprintf(c->guard_reason, sizeof(c->guard_reason), "less than 5 GiB left on the file system of %s",
			 c->dir);
		return 1;
	}
	return 0;
}

int guard_progress(uint64_t samples_acked, void *arg)
{
	(void)samples_acked;
	return disk_guard(arg);
}

struct load_spec load_whole_trace(struct bench_ctx *c, const char *url, const struct trace_shape *shape)
{
	return (struct load_spec){
		.url = url,
		.progress = guard_progress,
		.progress_arg = c,
		.shape = *shape,
		.min_seconds = 0,
		/* Bounded even for the reference trace on a slow collector. */
		.max_seconds = 4 * 3600,
		.min_intervals = shape->intervals,
		.reply_timeout_ms = 60000,
		.seq_base = 0,
	};
}
