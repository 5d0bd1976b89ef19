#include "codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

const int64_t tier_resolution_ms[TIER_COUNT] = { 0, 60000, 3600000 };
const char *const tier_name[TIER_COUNT] = { "raw", "1m", "1h" };

/* ---- buffers ------------------------------------------------------------ */

void buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
}

static int buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + more)
		cap *= 2;
	uint8_t *d = realloc(b->data, cap);
	if (!d) {
		b->failed = 1;
		return -1;
	}
	b->data = d;
	b->cap = cap;
	return 0;
}

void buf_put(struct buf *b, const void *p, size_t n)
{
	if (n == 0 || buf_reserve(b, n) < 0)
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void buf_u8(struct buf *b, uint8_t v)
{
	if (buf_reserve(b, 1) == 0)
		b->data[b->len++] = v;
}

void buf_uvarint(struct buf *b, uint64_t v)
{
	if (buf_reserve(b, 10) < 0)
		return;
	while (v >= 0x80) {
		b->data[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->data[b->len++] = (uint8_t)v;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

void buf_svarint(struct buf *b, int64_t v)
{
	buf_uvarint(b, zigzag(v));
}

void buf_f64(struct buf *b, double v)
{
	buf_put(b, &v, sizeof(v));
}

/* ---- cursors ------------------------------------------------------------ */

uint8_t cur_u8(struct cursor *c)
{
	if (c->p >= c->end) {
		c->bad = 1;
		return 0;
	}
	return *c->p++;
}

uint64_t cur_uvarint(struct cursor *c)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (c->p >= c->end) {
			c->bad = 1;
			return 0;
		}
		uint8_t byte = *c->p++;
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return v;
	}
	c->bad = 1;
	return 0;
}

int64_t cur_svarint(struct cursor *c)
{
	return unzigzag(cur_uvarint(c));
}

const uint8_t *cur_bytes(struct cursor *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n) {
		c->bad = 1;
		c->p = c->end;
		return NULL;
	}
	const uint8_t *p = c->p;
	c->p += n;
	return p;
}

double cur_f64(struct cursor *c)
{
	double v = 0;
	const uint8_t *p = cur_bytes(c, sizeof(v));
	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

/* ---- values --------------------------------------------------------------
 * A value is stored against the previous one of its stream, as one of:
 *   tag 0            the same value;
 *   tag 1 + e        decimal: v == m / 10^e exactly (e = 0..6, |m| < 2^53),
 *                    stored as the zigzag varint m - round(prev * 10^e);
 *                    counts, byte totals and rounded readings take 1-4 bytes;
 *   tag 0x40 + 8L+T  the IEEE bits XORed with the previous value's, without
 *                    their L leading and T trailing zero bytes.
 * Decoding repeats the encoder's arithmetic, so it is exact. */

#define VALUE_SAME   0
#define VALUE_DEC    1
#define VALUE_DEC_MAX 6
#define VALUE_XOR    0x40

static const double pow10_table[VALUE_DEC_MAX + 1] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6 };

static uint64_t bits_of(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof(u));
	return u;
}

static double double_of(uint64_t u)
{
	double v;
	memcpy(&v, &u, sizeof(v));
	return v;
}

static int64_t scaled(double v, int e)
{
	double s = v * pow10_table[e];
	return fabs(s) < 0x1p62 ? llround(s) : 0;
}

/* The tag for v after prev, and the decimal delta when it is decimal. */
static uint8_t value_classify(double prev, double v, int64_t *delta)
{
	if (bits_of(v) == bits_of(prev))
		return VALUE_SAME;
	for (int e = 0; e <= VALUE_DEC_MAX; e++) {
		double s = v * pow10_table[e];
		if (!(fabs(s) < 0x1p53))
			break;
		int64_t m = llround(s);
		if ((double)m / pow10_table[e] == v && bits_of((double)m / pow10_table[e]) == bits_of(v)) {
			*delta = m - scaled(prev, e);
			return (uint8_t)(VALUE_DEC + e);
		}
	}
	uint64_t x = bits_of(v) ^ bits_of(prev);
	int lead = __builtin_clzll(x) / 8, trail = __builtin_ctzll(x) / 8;
	return (uint8_t)(VALUE_XOR + lead * 8 + trail);
}

static void value_payload(struct buf *b, double prev, double v, uint8_t tag, int64_t delta)
{
	if (tag == VALUE_SAME)
		return;
	if (tag < VALUE_XOR) {
		buf_svarint(b, delta);
		return;
	}
	int lead = (tag - VALUE_XOR) / 8, trail = (tag - VALUE_XOR) % 8;
	uint64_t x = (bits_of(v) ^ bits_of(prev)) >> (8 * trail);
	for (int i = 0; i < 8 - lead - trail; i++)
		buf_u8(b, (uint8_t)(x >> (8 * i)));
}

static double value_from(struct cursor *c, double prev, uint8_t tag)
{
	if (tag == VALUE_SAME)
		return prev;
	if (tag < VALUE_XOR) {
		int e = tag - VALUE_DEC;
		if (e > VALUE_DEC_MAX) {
			c->bad = 1;
			return prev;
		}
		int64_t m = scaled(prev, e) + cur_svarint(c);
		return (double)m / pow10_table[e];
	}
	int lead = (tag - VALUE_XOR) / 8, trail = (tag - VALUE_XOR) % 8;
	if (tag >= 0x80 || lead + trail > 7) {
		c->bad = 1;
		return prev;
	}
	uint64_t x = 0;
	for (int i = 0; i < 8 - lead - trail; i++)
		x |= (uint64_t)cur_u8(c) << (8 * i);
	return double_of(bits_of(prev) ^ (x << (8 * trail)));
}

void value_put(struct buf *b, struct value_ctx *ctx, double v)
{
	int64_t delta = 0;
	uint8_t tag = value_classify(ctx->prev, v, &delta);
	buf_u8(b, tag);
	value_payload(b, ctx->prev, v, tag, delta);
	ctx->prev = v;
}

double value_get(struct cursor *c, struct value_ctx *ctx)
{
	ctx->prev = value_from(c, ctx->prev, cur_u8(c));
	return ctx->prev;
}

/* ---- intervals -----------------------------------------------------------
 * Header byte: bits 0-2 the value tag when it is SAME or DEC e<=5 (7: a
 * full tag byte follows), bits 3-4 the IV_* flags, bit 5 n != 1, bit 6 the
 * duration deviates from n * base, bit 7 the start is not the previous end.
 * A steadily sampled, contiguous interval of a count costs 2-4 bytes. */

#define IH_TAG_MASK 7u
#define IH_TAG_FULL 7u
#define IH_FLAGS_SHIFT 3
#define IH_N     0x20u
#define IH_DEV   0x40u
#define IH_OFF   0x80u

void interval_enc_init(struct interval_enc *e, int64_t t_origin, uint32_t base_ms)
{
	memset(e, 0, sizeof(*e));
	e->prev_end = t_origin;
	e->base_ms = base_ms;
}

void interval_put(struct buf *b, struct interval_enc *e, const struct interval *iv)
{
	int64_t delta = 0;
	uint8_t tag = value_classify(e->v.prev, iv->value, &delta);
	int64_t off = iv->t_start_ms - e->prev_end;
	int64_t dev = (iv->t_end_ms - iv->t_start_ms) - (int64_t)iv->n * e->base_ms;
	uint8_t h = (uint8_t)((iv->flags & 3u) << IH_FLAGS_SHIFT);
	h |= tag < IH_TAG_FULL ? tag : IH_TAG_FULL;
	if (iv->n != 1)
		h |= IH_N;
	if (dev)
		h |= IH_DEV;
	if (off)
		h |= IH_OFF;
	buf_u8(b, h);
	if (tag >= IH_TAG_FULL)
		buf_u8(b, tag);
	if (iv->n != 1)
		buf_uvarint(b, iv->n);
	if (dev)
		buf_svarint(b, dev);
	if (off)
		buf_svarint(b, off);
	value_payload(b, e->v.prev, iv->value, tag, delta);
	e->v.prev = iv->value;
	e->prev_end = iv->t_end_ms;
	e->count++;
}

int interval_get(struct cursor *c, struct interval_enc *e, struct interval *iv)
{
	uint8_t h = cur_u8(c);
	uint8_t tag = h & IH_TAG_MASK;
	if (tag == IH_TAG_FULL)
		tag = cur_u8(c);
	iv->flags = (h >> IH_FLAGS_SHIFT) & 3u;
	iv->n = h & IH_N ? (uint32_t)cur_uvarint(c) : 1;
	int64_t dev = h & IH_DEV ? cur_svarint(c) : 0;
	int64_t off = h & IH_OFF ? cur_svarint(c) : 0;
	iv->t_start_ms = e->prev_end + off;
	iv->t_end_ms = iv->t_start_ms + (int64_t)iv->n * e->base_ms + dev;
	iv->value = value_from(c, e->v.prev, tag);
	e->v.prev = iv->value;
	e->prev_end = iv->t_end_ms;
	e->count++;
	return c->bad ? -1 : 0;
}

/* ---- rollups -------------------------------------------------------------
 * Header byte: bits 0-1 flags, bit 2 min == max == mean == last (one value
 * stored), bit 3 the bucket is not fully covered (covered_ms follows), bit 4
 * a sum follows, bit 5 buckets were skipped since the previous record. */

#define RH_EQUAL 0x04u
#define RH_PART  0x08u
#define RH_SUM   0x10u
#define RH_SKIP  0x20u

void rollup_enc_init(struct rollup_enc *e, int64_t t_origin, int64_t res_ms)
{
	memset(e, 0, sizeof(*e));
	e->res_ms = res_ms;
	/* The first record's start is stored as a skip from the bucket before
	 * the origin's. */
	e->prev_start = t_origin - t_origin % res_ms - res_ms;
}

void rollup_put(struct buf *b, struct rollup_enc *e, const struct rollup *r)
{
	int equal = r->min == r->max && r->min == r->mean && r->min == r->last;
	int64_t skip = (r->start_ms - e->prev_start) / e->res_ms - 1;
	uint8_t h = r->flags & 3u;
	if (equal)
		h |= RH_EQUAL;
	if (r->covered_ms != e->res_ms)
		h |= RH_PART;
	if (r->sum != 0)
		h |= RH_SUM;
	if (skip)
		h |= RH_SKIP;
	buf_u8(b, h);
	if (skip)
		buf_svarint(b, skip);
	if (h & RH_PART)
		buf_uvarint(b, (uint64_t)r->covered_ms);
	value_put(b, &e->min, r->min);
	if (equal) {
		e->max.prev = e->mean.prev = e->last.prev = r->min;
	} else {
		value_put(b, &e->max, r->max);
		value_put(b, &e->mean, r->mean);
		value_put(b, &e->last, r->last);
	}
	if (h & RH_SUM)
		value_put(b, &e->sum, r->sum);
	e->prev_start = r->start_ms;
}

int rollup_get(struct cursor *c, struct rollup_enc *e, struct rollup *r)
{
	uint8_t h = cur_u8(c);
	int64_t skip = h & RH_SKIP ? cur_svarint(c) : 0;
	r->flags = h & 3u;
	r->start_ms = e->prev_start + (skip + 1) * e->res_ms;
	r->covered_ms = h & RH_PART ? (int64_t)cur_uvarint(c) : e->res_ms;
	r->min = value_get(c, &e->min);
	if (h & RH_EQUAL) {
		r->max = r->mean = r->last = r->min;
		e->max.prev = e->mean.prev = e->last.prev = r->min;
	} else {
		r->max = value_get(c, &e->max);
		r->mean = value_get(c, &e->mean);
		r->last = value_get(c, &e->last);
	}
	r->sum = h & RH_SUM ? value_get(c, &e->sum) : 0;
	e->prev_start = r->start_ms;
	return c->bad ? -1 : 0;
}

/* ---- blobs --------------------------------------------------------------- */

#define BLOB_PLAIN 0
#define BLOB_ZSTD  1
/* Fast enough to keep up with ingest, and most of zstd's gain on this data. */
#define BLOB_ZSTD_LEVEL 3

int blob_pack(const struct buf *plain, struct buf *out)
{
	return blob_pack_level(plain, out, BLOB_ZSTD_LEVEL);
}

int blob_pack_level(const struct buf *plain, struct buf *out, int level)
{
	buf_reset(out);
	size_t bound = ZSTD_compressBound(plain->len);
	if (buf_reserve(out, bound + 1) < 0)
		return -1;
	size_t n = plain->len >= 64 ? ZSTD_compress(out->data + 1, bound, plain->data, plain->len, level)
				   : (size_t)-1;
	if (!ZSTD_isError(n) && n < plain->len) {
		out->data[0] = BLOB_ZSTD;
		out->len = n + 1;
		return 0;
	}
	out->data[0] = BLOB_PLAIN;
	out->len = 1;
	buf_put(out, plain->data, plain->len);
	return out->failed ? -1 : 0;
}

int blob_unpack(const void *blob, size_t len, struct buf *out)
{
	const uint8_t *p = blob;
	buf_reset(out);
	if (len < 1)
		return -1;
	if (p[0] == BLOB_PLAIN) {
		buf_put(out, p + 1, len - 1);
		return out->failed ? -1 : 0;
	}
	if (p[0] != BLOB_ZSTD)
		return -1;
	unsigned long long size = ZSTD_getFrameContentSize(p + 1, len - 1);
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 31))
		return -1;
	if (buf_reserve(out, (size_t)size) < 0)
		return -1;
	size_t n = ZSTD_decompress(out->data, (size_t)size, p + 1, len - 1);
	if (ZSTD_isError(n) || n != size)
		return -1;
	out->len = n;
	return 0;
}
