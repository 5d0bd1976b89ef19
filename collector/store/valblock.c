#include "valblock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Block layout: a byte holding the mode (high nibble) and the exponent e
 * (low nibble), then
 *   PACKED  width (u8), min (svarint), step (when width > 0); n values of
 *           width bits, lowest bit first, each (m - min) / step;
 *   DELTA   step, the first m (svarint), the payload's length; n - 1
 *           zigzag varints of the changes / step;
 *   EACH    the payload's length; the values coded one by one against the
 *           previous (value_put), the first against 0.
 * An empty block (n == 0) has no bytes at all. Small blocks (a flush
 * every few minutes leaves a handful of rollup buckets per series) are
 * tried in every mode, since the parameters then weigh as much as the
 * values. */
enum { VB_PACKED = 0, VB_DELTA = 1, VB_EACH = 2 };

#define VB_DEC_MAX 6
/* Blocks of up to this many values are tried in every mode. */
#define VB_SMALL 16
static const double pow10_table[VB_DEC_MAX + 1] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6 };

static uint64_t bits_of(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof(u));
	return u;
}

/* m with v == m / 10^e to the bit, or 0 when there is none. */
static int decimal_at(double v, int e, int64_t *m)
{
	double s = v * pow10_table[e];
	if (!(fabs(s) < 0x1p53))
		return 0;
	*m = llround(s);
	return bits_of((double)*m / pow10_table[e]) == bits_of(v);
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}


static size_t uvarint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* The decimal form of a whole block: one exponent for all values. */
struct decimal_block {
	int e;
	int64_t min, max;
	uint64_t step; /* gcd of the differences; 1 when all are equal */
};

/* The smallest exponent every value is exact at, or -1. Exact at e implies
 * exact at a larger e only approximately (rounding near 2^53), so the
 * values are checked again at the exponent found. */
static int common_exponent(const double *v, size_t n)
{
	int e = 0;
	int64_t m;
	for (size_t i = 0; i < n; i++)
		while (!decimal_at(v[i], e, &m))
			if (++e > VB_DEC_MAX)
				return -1;
	return e;
}

/* Fills m[] and d; 0, or -1 when the block is not decimal. */
static int decimal_form(const double *v, size_t n, int64_t *m, struct decimal_block *d)
{
	d->e = common_exponent(v, n);
	if (d->e < 0)
		return -1;
	d->step = 0;
	for (size_t i = 0; i < n; i++) {
		if (!decimal_at(v[i], d->e, &m[i]))
			return -1;
		if (i == 0 || m[i] < d->min)
			d->min = m[i];
		if (i == 0 || m[i] > d->max)
			d->max = m[i];
		if (d->step != 1)
			d->step = gcd_u64(d->step, (uint64_t)(m[i] > m[0] ? m[i] - m[0] : m[0] - m[i]));
	}
	if (d->step == 0)
		d->step = 1;
	return 0;
}

static unsigned packed_width(const struct decimal_block *d)
{
	uint64_t range = (uint64_t)(d->max - d->min) / d->step;
	return range ? 64u - (unsigned)__builtin_clzll(range) : 0u;
}

static size_t delta_size(const int64_t *m, size_t n, uint64_t step)
{
	size_t size = 0;
	for (size_t i = 1; i < n; i++)
		size += uvarint_len(zigzag((m[i] - m[i - 1]) / (int64_t)step));
	return size;
}

static void put_packed(struct buf *b, const int64_t *m, size_t n, const struct decimal_block *d, unsigned width)
{
	buf_u8(b, (uint8_t)(VB_PACKED << 4 | d->e));
	buf_u8(b, (uint8_t)width);
	buf_svarint(b, d->min);
	if (width)
		buf_uvarint(b, d->step);
	uint64_t acc = 0;
	unsigned nbits = 0;
	for (size_t i = 0; i < n && width; i++) {
		acc |= ((uint64_t)(m[i] - d->min) / d->step) << nbits;
		nbits += width;
		while (nbits >= 8) {
			buf_u8(b, (uint8_t)acc);
			acc >>= 8;
			nbits -= 8;
		}
	}
	if (nbits)
		buf_u8(b, (uint8_t)acc);
}

static void put_delta(struct buf *b, const int64_t *m, size_t n, const struct decimal_block *d, size_t size)
{
	buf_u8(b, (uint8_t)(VB_DELTA << 4 | d->e));
	buf_uvarint(b, d->step);
	buf_svarint(b, m[0]);
	buf_uvarint(b, size);
	for (size_t i = 1; i < n; i++)
		buf_svarint(b, (m[i] - m[i - 1]) / (int64_t)d->step);
}

static void put_each(struct buf *b, const double *v, size_t n, struct buf *scratch)
{
	struct value_ctx ctx = { 0 };
	buf_reset(scratch);
	for (size_t i = 0; i < n; i++)
		value_put(scratch, &ctx, v[i]);
	buf_u8(b, VB_EACH << 4);
	buf_uvarint(b, scratch->len);
	buf_put(b, scratch->data, scratch->len);
	if (scratch->failed)
		b->failed = 1;
}

static int64_t *scratch_ints(struct vblock_scratch *s, size_t n)
{
	if (n > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap < n)
			cap *= 2;
		int64_t *m = realloc(s->m, cap * sizeof(*m));
		if (!m)
			return NULL;
		s->m = m;
		s->cap = cap;
	}
	return s->m;
}

void vblock_scratch_free(struct vblock_scratch *s)
{
	free(s->m);
	buf_free(&s->each);
	buf_free(&s->trial[0]);
	buf_free(&s->trial[1]);
	memset(s, 0, sizeof(*s));
}

/* A small block in whichever mode is shortest, parameters included. */
static void put_smallest(struct buf *b, const double *v, const int64_t *m, size_t n, const struct decimal_block *d,
			 struct vblock_scratch *s)
{
	struct buf *best = &s->trial[0], *other = &s->trial[1];
	buf_reset(best);
	put_packed(best, m, n, d, packed_width(d));
	buf_reset(other);
	put_delta(other, m, n, d, delta_size(m, n, d->step));
	if (other->len < best->len) {
		best = &s->trial[1];
		other = &s->trial[0];
	}
	buf_reset(other);
	put_each(other, v, n, &s->each);
	if (other->len < best->len)
		best = other;
	buf_put(b, best->data, best->len);
	if (best->failed)
		b->failed = 1;
}

void vblock_put(struct buf *b, const double *v, size_t n, struct vblock_scratch *s)
{
	if (n == 0)
		return;
	int64_t *m = scratch_ints(s, n);
	struct decimal_block d;
	if (!m) {
		b->failed = 1;
		return;
	}
	if (decimal_form(v, n, m, &d) < 0) {
		put_each(b, v, n, &s->each);
		return;
	}
	unsigned width = packed_width(&d);
	size_t packed = ((uint64_t)n * width + 7) / 8, delta = delta_size(m, n, d.step);
	if (n <= VB_SMALL) {
		put_smallest(b, v, m, n, &d, s);
		return;
	}
	if (packed <= delta)
		put_packed(b, m, n, &d, width);
	else
		put_delta(b, m, n, &d, delta);
}

/* ---- reading ---------------------------------------------------------------- */

static int open_payload(struct vblock_reader *r, struct cursor *c)
{
	uint64_t len = cur_uvarint(c);
	const uint8_t *p = cur_bytes(c, (size_t)len);
	if (c->bad || (!p && len))
		return -1;
	r->c = (struct cursor){ p, p + len, 0 };
	return 0;
}

static int open_packed(struct vblock_reader *r, struct cursor *c, size_t n)
{
	size_t len = (size_t)(((uint64_t)n * r->width + 7) / 8);
	const uint8_t *p = cur_bytes(c, len);
	if (c->bad || (!p && len) || r->e > VB_DEC_MAX || r->step == 0)
		return -1;
	r->c = (struct cursor){ p, p + len, 0 };
	return 0;
}

int vblock_open(struct vblock_reader *r, struct cursor *c, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->left = n;
	if (n == 0)
		return 0;
	uint8_t mode = cur_u8(c);
	r->mode = mode >> 4;
	r->e = mode & 15;
	r->step = 1;
	if (r->mode == VB_PACKED) {
		r->width = cur_u8(c);
		r->m = cur_svarint(c);
		if (r->width)
			r->step = cur_uvarint(c);
		if (r->width > 64)
			return -1;
		return open_packed(r, c, n);
	}
	if (r->mode == VB_DELTA) {
		r->step = cur_uvarint(c);
		r->m = cur_svarint(c);
	} else if (r->mode != VB_EACH) {
		return -1;
	}
	if (r->e > VB_DEC_MAX || r->step == 0)
		return -1;
	return open_payload(r, c);
}

static uint64_t read_bits(struct vblock_reader *r)
{
	if (r->width == 0)
		return 0;
	uint64_t out = 0;
	unsigned have = 0;
	/* Assembled in two parts so that no shift reaches 64. */
	while (have < r->width) {
		if (r->nbits == 0) {
			r->bits = cur_u8(&r->c);
			r->nbits = 8;
		}
		unsigned take = r->width - have < r->nbits ? r->width - have : r->nbits;
		out |= (r->bits & ((1ull << take) - 1)) << have;
		r->bits >>= take;
		r->nbits -= take;
		have += take;
	}
	return out;
}

double vblock_next(struct vblock_reader *r)
{
	if (r->left == 0) {
		r->c.bad = 1;
		return 0;
	}
	r->left--;
	switch (r->mode) {
	case VB_PACKED:
		return (double)(r->m + (int64_t)(read_bits(r) * r->step)) / pow10_table[r->e];
	case VB_DELTA:
		if (r->started)
			r->m += cur_svarint(&r->c) * (int64_t)r->step;
		r->started = 1;
		return (double)r->m / pow10_table[r->e];
	default:
		return value_get(&r->c, &r->prev);
	}
}
