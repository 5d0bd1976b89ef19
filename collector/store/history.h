/* Reading stored intervals back, one decoded row at a time. This is the one
 * read path for everything that needs history (vigilctl history/show, SLA
 * training, availability): it decodes segments and replays the journal
 * (docs/storage.md), inside one read transaction so a concurrent flush is
 * never seen half-done. */
#ifndef VIGIL_HISTORY_H
#define VIGIL_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "codec.h"

/* Which rows to return; NULL fields match anything. Rows are those whose
 * [t_start, t_end] overlaps [since_ms, until_ms]. */
struct history_filter {
	const char *host;
	const char *vm;     /* VM name or UUID */
	const char *metric; /* catalogue name, e.g. "cpu.used_pct" */
	const char *tags;   /* canonical "k=v,k=v" (keys sorted); "" = untagged only */
	int64_t since_ms;
	int64_t until_ms;
	int tags_subset;    /* tags only needs to be a subset of the series' ("if=vnet0") */
};

/* Whether canonical tag set have holds every k=v of want. */
int tags_contain(const char *have, const char *want);

/* The design's record: origin, tags (layer, metric and the series' own),
 * value held from t_start to t_end. Strings live until the callback
 * returns. */
struct history_row {
	const char *host;
	const char *vm;
	const char *vm_uuid;
	const char *metric;
	const char *layer;
	const char *unit;
	const char *tags;
	int64_t t_start_ms;
	int64_t t_end_ms;
	double value;
	/* Added with the interval store. */
	const char *kind;  /* gauge, counter or state */
	uint32_t samples;  /* probe intervals the row covers; a counter's total is samples * value */
	uint8_t flags;     /* IV_GAP: starts after a gap (or is the first); IV_RESET: after a counter reset */
	uint8_t open;      /* still open: t_end is the latest reading's end */
};

/* Called per row, ordered by host, VM, metric, tags, t_start. A non-zero
 * return stops the scan and becomes history_scan's result. */
typedef int (*history_cb)(const struct history_row *row, void *arg);

/* 0 when every row was delivered, the callback's non-zero value if it
 * stopped the scan, or -1 with a message in err. */
int history_scan(sqlite3 *db, const struct history_filter *f, history_cb cb, void *arg, char *err, size_t errlen);

/* Where readers that only need rows get them: a database (history_db_source)
 * or anything that delivers rows the same way, such as vigilctl asking a
 * collector over nng. scan returns as history_scan. */
struct history_source {
	int (*scan)(void *ctx, const struct history_filter *f, history_cb cb, void *arg, char *err, size_t errlen);
	void *ctx;
};
struct history_source history_db_source(sqlite3 *db);

/* One step of a rollup query: [start, start + step) aggregated, time
 * weighted, over the covered_ms of it that had data. id holds the series'
 * identity as in history_row (its time and value fields are unset). */
struct history_bucket {
	const struct history_row *id;
	int64_t start_ms, step_ms, covered_ms;
	double min, max, mean, last;
	double sum; /* counters: the total counted in the step */
	uint8_t flags; /* IV_GAP: part of the step had no data; IV_RESET: a reset in it */
};
typedef int (*history_bucket_cb)(const struct history_bucket *b, void *arg);

/* Steps of step_ms (epoch-aligned, a multiple of the tier's resolution)
 * overlapping [since, until], read from tier; the part of the window newer
 * than the tier's stored buckets is computed from raw intervals. TIER_RAW
 * computes everything from raw intervals. Returns as history_scan. */
int history_rollups(sqlite3 *db, const struct history_filter *f, enum tier tier, int64_t step_ms,
		    history_bucket_cb cb, void *arg, char *err, size_t errlen);

/* The tier to read for a window starting at since_ms, given retention per
 * tier: raw when it still covers the window and no step (or a step) is
 * asked; otherwise the coarsest covering tier whose resolution divides the
 * step, which gives the same figures as any finer tier (buckets compose
 * exactly) for less work. *step_ms is raised to the tier's resolution when
 * smaller, and set to it when 0 and raw does not cover the window. */
enum tier history_choose_tier(const int64_t retention_ms[TIER_COUNT], int64_t now_ms, int64_t since_ms,
			      int64_t *step_ms);

/* The open intervals of one VM (name or UUID): every current metric with
 * the start of its interval (none for a VM that has no readings). Returns
 * as history_scan. */
int history_current(sqlite3 *db, const char *vm, history_cb cb, void *arg, char *err, size_t errlen);

#endif
