/* Compact byte encodings of the store (docs/storage.md, "Encodings"):
 * growable buffers, varints, a value codec that stores a reading relative
 * to the previous one, and the two record streams built on it: closed
 * intervals (raw tier) and rollup buckets (1-minute and 1-hour tiers).
 *
 * Every stream decodes back to exactly the doubles and times encoded: the
 * codec never rounds. */
#ifndef VIGIL_CODEC_H
#define VIGIL_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. Zero-initialised is empty and valid. */
struct buf {
	uint8_t *data;
	size_t len, cap;
	int failed; /* an allocation failed; the contents are incomplete */
};

void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_put(struct buf *b, const void *p, size_t n);
void buf_u8(struct buf *b, uint8_t v);
void buf_uvarint(struct buf *b, uint64_t v);
void buf_svarint(struct buf *b, int64_t v);
void buf_f64(struct buf *b, double v);

/* A read cursor. Reads past the end set bad and return zeros, so callers
 * check once at the end rather than after every field. */
struct cursor {
	const uint8_t *p, *end;
	int bad;
};

uint8_t cur_u8(struct cursor *c);
uint64_t cur_uvarint(struct cursor *c);
int64_t cur_svarint(struct cursor *c);
double cur_f64(struct cursor *c);
const uint8_t *cur_bytes(struct cursor *c, size_t n);
static inline int cur_more(const struct cursor *c)
{
	return !c->bad && c->p < c->end;
}

/* Interval flags, stored with every interval and shown by queries. */
#define IV_GAP   1u /* no interval of the series ends where this one starts */
#define IV_RESET 2u /* the VM's counters restarted at its start */

/* One temporal interval: value held from t_start to t_end over n samples
 * (probe intervals). For counters each sample is a per-interval delta, so
 * the interval's total is n * value. */
struct interval {
	int64_t t_start_ms, t_end_ms;
	double value;
	uint32_t n;
	uint8_t flags;
};

/* Value codec state: the previous value of the stream. */
struct value_ctx {
	double prev;
};

void value_put(struct buf *b, struct value_ctx *ctx, double v);
double value_get(struct cursor *c, struct value_ctx *ctx);

/* A stream of a series' intervals in time order. base_ms is the expected
 * duration of one sample (the probe's interval): an interval of n samples
 * is stored as the deviation from n * base_ms, usually zero. */
struct interval_enc {
	int64_t prev_end;
	uint32_t base_ms;
	struct value_ctx v;
	uint32_t count;
};

void interval_enc_init(struct interval_enc *e, int64_t t_origin, uint32_t base_ms);
void interval_put(struct buf *b, struct interval_enc *e, const struct interval *iv);
int interval_get(struct cursor *c, struct interval_enc *e, struct interval *iv);

/* Rollup tiers. */
enum tier { TIER_RAW = 0, TIER_1M = 1, TIER_1H = 2, TIER_COUNT = 3 };
extern const int64_t tier_resolution_ms[TIER_COUNT]; /* 0 for raw */
extern const char *const tier_name[TIER_COUNT];

/* One rollup bucket [start, start + resolution): time-weighted over the
 * covered_ms of it that had data. sum is the (time-prorated) total of a
 * counter's per-interval values; 0 for other kinds. */
struct rollup {
	int64_t start_ms;
	int64_t covered_ms;
	double min, max, mean, last, sum;
	uint8_t flags; /* IV_GAP: part of the bucket had no data; IV_RESET: a reset inside */
};

struct rollup_enc {
	int64_t prev_start;
	int64_t res_ms;
	struct value_ctx min, max, mean, last, sum;
};

void rollup_enc_init(struct rollup_enc *e, int64_t t_origin, int64_t res_ms);
void rollup_put(struct buf *b, struct rollup_enc *e, const struct rollup *r);
int rollup_get(struct cursor *c, struct rollup_enc *e, struct rollup *r);

/* Whole-blob compression for segments: a one-byte marker then zstd or the
 * plain bytes, whichever is smaller. */
int blob_pack(const struct buf *plain, struct buf *out);
/* The same at a chosen zstd level (blob_pack uses 3). */
int blob_pack_level(const struct buf *plain, struct buf *out, int level);
/* 0, or -1 when the blob is corrupt. out is reset first. */
int blob_unpack(const void *blob, size_t len, struct buf *out);

#endif
