/* Cutting row streams into segments by period (docs/storage.md,
 * "Compaction"): what a flush has for each series and tier (a row stream,
 * struct pending) goes into one segment builder per period its records
 * start in, so that a query for a recent window decodes only recent
 * segments and retention can drop old periods whole, even when a flush
 * moves days of data at once (a backlog, or a bulk load).
 *
 * Plain data in, segment builders out: no database, no writer state. The
 * flush (engine.c) and compaction (compact.c) both build their segments
 * here. */
#ifndef VIGIL_PERIOD_H
#define VIGIL_PERIOD_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "segment.h"

/* A row stream of one series and tier (interval_put or rollup_put records
 * from first), as the writer accumulates it between flushes. */
struct pending {
	struct buf data;
	uint32_t count;
	int64_t first, last; /* earliest start, latest end of its records */
};

/* One series' stream handed to a segment writer. base_ms (raw tier) is the
 * sample duration the stream's intervals are coded against; 0 for rollup
 * tiers, and when the series has not coded an interval yet. */
struct series_pending {
	int64_t series_id;
	const struct pending *pending;
	uint32_t base_ms;
};

/* The length of a segment's period, per tier. */
extern const int64_t segment_period_ms[TIER_COUNT];

struct period_seg {
	int64_t period;
	struct seg_builder b;
};

/* One series' section being re-encoded for one period. */
struct period_split {
	struct buf data;
	uint32_t count;
	int64_t period, first, last, origin;
	struct interval_enc ienc;
	struct rollup_enc renc;
};

/* The builders of one VM's and tier's segments, one per period, in the
 * order the periods were first added to; reused from VM to VM. p[0..n) are
 * in use. */
struct period_set {
	struct period_seg *p;
	size_t n, cap;
	struct period_split split;
};

/* Empties the set for a new VM or tier (the builders' memory is kept). */
void period_set_reset(struct period_set *ps);
void period_set_free(struct period_set *ps);

/* Re-encodes row stream p of one series, cut at period boundaries, into
 * the builders of the periods it spans (base: the raw tier's sample
 * duration, as struct series_pending). 0, or -1 when p does not decode or
 * out of memory. */
int period_add_stream(struct period_set *ps, const struct pending *p, int tier, int64_t series_id, uint32_t base);

/* Adds a flush's pending stream of one series (nothing when it is empty):
 * as it is when it lies in one period, re-encoded per period otherwise.
 * 0, or -1 with a message naming the series in err. */
int period_add_pending(struct period_set *ps, const struct series_pending *s, int tier, char *err, size_t errlen);

#endif
