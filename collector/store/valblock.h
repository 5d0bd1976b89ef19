/* Value blocks: one series' values of one segment, coded together so the
 * coding can fit the whole block (docs/storage.md, "Encodings"), used by
 * segment format 2 for every value column.
 *
 * A block whose values are all decimals m / 10^e of one exponent e (counts,
 * bytes, percentages in hundredths) is coded as the integers m, divided by
 * their common step g (512-byte sectors, 4 KiB pages), either
 *   - packed: each (m - min) / g in the fewest bits that hold the largest,
 *     best for readings scattered around a level; or
 *   - delta: the zigzag varint of each change, best for a level that
 *     drifts or a count that grows;
 * whichever is smaller. Any other block is coded value by value against the
 * previous value (value_put). Decoding is exact: every decimal block is
 * checked to give back the same bits before it is chosen. */
#ifndef VIGIL_VALBLOCK_H
#define VIGIL_VALBLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* The coder's working memory, reused from block to block. Zeroed is empty. */
struct vblock_scratch {
	int64_t *m;
	size_t cap;
	struct buf each, trial[2];
};

void vblock_scratch_free(struct vblock_scratch *s);

/* Appends the block of v[0..n) to b. */
void vblock_put(struct buf *b, const double *v, size_t n, struct vblock_scratch *s);

/* Reads a block of n values back, one at a time, in order. */
struct vblock_reader {
	uint8_t mode;
	int e;
	int64_t m;      /* packed: the minimum; delta: the previous integer */
	uint64_t step;
	unsigned width; /* packed: bits per value */
	size_t left;    /* values not read yet */
	int started;    /* delta: the first value was read */
	struct cursor c; /* the block's payload */
	uint64_t bits;  /* packed: bits read ahead, lowest first */
	unsigned nbits;
	struct value_ctx prev; /* value by value */
};

/* Consumes the block's bytes from c (so the next block follows). 0, or -1
 * when the block is corrupt. */
int vblock_open(struct vblock_reader *r, struct cursor *c, size_t n);
/* The next value; sets r->c.bad on corrupt data or when none is left. */
double vblock_next(struct vblock_reader *r);
/* 1 when reading went wrong. */
static inline int vblock_bad(const struct vblock_reader *r)
{
	return r->c.bad;
}

#endif
