/* Time-weighted rollup buckets, maintained incrementally: a series' readings
 * are fed in time order and each bucket is handed out once a later reading
 * shows it complete. The 1-hour tier is fed with the 1-minute tier's
 * buckets, which compose exactly (min of mins, max of maxes, means weighted
 * by covered time, sums added). */
#ifndef VIGIL_ROLLUP_H
#define VIGIL_ROLLUP_H

#include <stdint.h>

#include "codec.h"

struct rollup_acc {
	struct rollup cur;
	int has; /* cur holds data */
	double integral; /* value x ms, so the mean stays exact while composing */
	int64_t last_t; /* end of the latest contribution, for "last" */
};

/* Called with each bucket that is complete. */
typedef void (*rollup_emit_fn)(const struct rollup *r, void *arg);

/* Adds value held over [t0, t1) to acc, splitting across buckets of res_ms.
 * total (a counter's count over [t0, t1), else 0) is added to sum, prorated
 * by overlap. Buckets before the one t0 falls in are emitted first. */
void rollup_feed(struct rollup_acc *acc, int64_t res_ms, int64_t t0, int64_t t1, double value, double total,
		 uint8_t flags, rollup_emit_fn emit, void *arg);

/* Adds a finer bucket r into acc's coarser buckets. */
void rollup_compose(struct rollup_acc *acc, int64_t res_ms, const struct rollup *r, rollup_emit_fn emit, void *arg);

/* Emits the current bucket if it ends at or before t (the series' clock has
 * passed it), or unconditionally when t is INT64_MAX. */
void rollup_flush_before(struct rollup_acc *acc, int64_t res_ms, int64_t t, rollup_emit_fn emit, void *arg);

/* The bucket as it stands, finished (mean computed). */
void rollup_current(const struct rollup_acc *acc, struct rollup *out);

/* Merges b into a (same bucket, e.g. a bucket emitted twice after a clock
 * step back). */
void rollup_merge(struct rollup *a, const struct rollup *b);

static inline int64_t bucket_floor(int64_t t, int64_t res)
{
	int64_t r = t % res;
	return r < 0 ? t - r - res : t - r;
}

#endif
