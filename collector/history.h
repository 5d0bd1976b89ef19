/* Reading stored intervals back, one decoded row at a time. This is the one
 * read path for everything that needs history (vigilctl history, SLA
 * training, availability), so the on-disk layout can change behind it. */
#ifndef VIGIL_HISTORY_H
#define VIGIL_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* Which rows to return; NULL fields match anything. Rows are those whose
 * [t_start, t_end] overlaps [since_ms, until_ms]. */
struct history_filter {
	const char *host;
	const char *vm;     /* VM name or UUID */
	const char *metric; /* catalogue name, e.g. "cpu.used_pct" */
	const char *tags;   /* canonical "k=v,k=v" (keys sorted); "" = untagged only */
	int64_t since_ms;
	int64_t until_ms;
};

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
};

/* Called per row, ordered by host, VM, metric, tags, t_start. A non-zero
 * return stops the scan and becomes history_scan's result. */
typedef int (*history_cb)(const struct history_row *row, void *arg);

/* 0 when every row was delivered, the callback's non-zero value if it
 * stopped the scan, or -1 with a message in err. */
int history_scan(sqlite3 *db, const struct history_filter *f, history_cb cb, void *arg, char *err, size_t errlen);

#endif
