#include "segment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Format 1: version, n, directory length, the directory (per section: id
 * delta, count, origin, base, length), then the sections' row streams.
 * Format 2: version, n, directory length, the three column lengths, the
 * directory (per section: id delta, count, origin delta, base, its length
 * in each column), then the columns. */
#define SEG_V1 1
#define SEG_V2 2
#define SEG_VERSION SEG_V2
/* A format 2 blob starts with this byte (format 1's is blob_pack's 0 or 1),
 * then the header with the directory and each column, each compressed on
 * its own (or, for a small segment, all in one frame as in format 1): the bit-packed values are noise to zstd, and mixed into the
 * same blocks they spoil its coding of the headers. */
#define SEG_BLOB_PARTS 0x12
/* Below this many plain bytes, one frame: the frames' own overhead would
 * outweigh what separating the columns gains. */
#define SEG_PARTS_MIN 4096

/* Format 2 record headers. A raw interval: its IV_* flags, whether a
 * deviation of its duration from n * base or an offset of its start from
 * the previous end is in the time column, and its sample count n when it
 * is 1..15 (0: n is in the time column). Carrying n in the header leaves
 * one symbol per interval that zstd codes in about a bit when most series
 * change every interval. */
#define RAW_FLAGS 3u
#define RAW_DEV   0x04u
#define RAW_OFF   0x08u
#define RAW_N_SHIFT 4
#define RAW_N_MAX 15u
/* A rollup bucket: flags; min == max == mean == last (only min stored);
 * covered_ms is not the whole bucket; a sum is stored; buckets were
 * skipped since the previous record (both in the time column). */
#define RU_FLAGS 3u
#define RU_EQUAL 0x04u
#define RU_PART  0x08u
#define RU_SUM   0x10u
#define RU_SKIP  0x20u

/* The value blocks of a rollup section, in column order. */
enum { RV_MIN, RV_MAX, RV_MEAN, RV_LAST, RV_SUM, RV_COUNT };

/* ---- scratch ---------------------------------------------------------------- */

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n <= *cap)
		return p;
	size_t c = *cap ? *cap : 64;
	while (c < n)
		c *= 2;
	void *q = realloc(p, c * size);
	if (q)
		*cap = c;
	return q;
}

static int scratch_reserve(struct seg_scratch *s, int tier, size_t n)
{
	void *p;
	if (tier == TIER_RAW) {
		if (!(p = grow(s->ivs, &s->cap_ivs, n, sizeof(*s->ivs))))
			return -1;
		s->ivs = p;
	} else {
		if (!(p = grow(s->rus, &s->cap_rus, n, sizeof(*s->rus))))
			return -1;
		s->rus = p;
		if (!(p = grow(s->mean_of, &s->cap_mean_of, n, sizeof(*s->mean_of))))
			return -1;
		s->mean_of = p;
	}
	if (!(p = grow(s->vals, &s->cap_vals, n, sizeof(*s->vals))))
		return -1;
	s->vals = p;
	return 0;
}

static void scratch_free(struct seg_scratch *s)
{
	free(s->ivs);
	free(s->rus);
	free(s->vals);
	free(s->mean_of);
	vblock_scratch_free(&s->vb);
	memset(s, 0, sizeof(*s));
}

/* ---- building --------------------------------------------------------------- */

void seg_builder_reset(struct seg_builder *b, int tier)
{
	b->tier = tier;
	buf_reset(&b->dir);
	for (int i = 0; i < SEG_COLUMNS; i++)
		buf_reset(&b->col[i]);
	b->n = 0;
	b->prev_id = 0;
	b->prev_origin = 0;
	b->t_first = INT64_MAX;
	b->t_last = INT64_MIN;
}

void seg_builder_free(struct seg_builder *b)
{
	buf_free(&b->dir);
	for (int i = 0; i < SEG_COLUMNS; i++)
		buf_free(&b->col[i]);
	scratch_free(&b->scratch);
}

/* Decodes a row stream into the scratch records. */
static int decode_rows(struct seg_builder *b, const struct seg_section *s)
{
	struct seg_section row = *s;
	struct seg_reader r;
	row.version = SEG_V1;
	if (scratch_reserve(&b->scratch, b->tier, s->count) < 0 ||
	    seg_reader_open(&r, &row, b->tier == TIER_RAW ? 0 : tier_resolution_ms[b->tier]) < 0)
		return -1;
	for (uint32_t k = 0; k < s->count; k++)
		if ((b->tier == TIER_RAW ? seg_read_interval(&r, &b->scratch.ivs[k])
					 : seg_read_rollup(&r, &b->scratch.rus[k])) != 1)
			return -1;
	return 0;
}

static void put_intervals(struct seg_builder *b, const struct seg_section *s)
{
	const struct interval *iv = b->scratch.ivs;
	struct buf *head = &b->col[SEG_COL_HEAD], *time = &b->col[SEG_COL_TIME];
	int64_t prev_end = s->origin;
	for (uint32_t k = 0; k < s->count; k++) {
		int64_t off = iv[k].t_start_ms - prev_end;
		int64_t dev = (iv[k].t_end_ms - iv[k].t_start_ms) - (int64_t)iv[k].n * s->base_ms;
		uint8_t h = iv[k].flags & RAW_FLAGS;
		h |= (dev ? RAW_DEV : 0) | (off ? RAW_OFF : 0);
		if (iv[k].n >= 1 && iv[k].n <= RAW_N_MAX)
			h |= (uint8_t)(iv[k].n << RAW_N_SHIFT);
		buf_u8(head, h);
		if (!(h >> RAW_N_SHIFT))
			buf_uvarint(time, iv[k].n);
		if (dev)
			buf_svarint(time, dev);
		if (off)
			buf_svarint(time, off);
		b->scratch.vals[k] = iv[k].value;
		prev_end = iv[k].t_end_ms;
	}
	vblock_put(&b->col[SEG_COL_VALUE], b->scratch.vals, s->count, &b->scratch.vb);
}

static int rollup_equal(const struct rollup *r)
{
	return r->min == r->max && r->min == r->mean && r->min == r->last;
}

/* A mean is the bucket's integral (value times ms) over its covered time.
 * Stored as such it costs a full double (7 bytes), so a section's means
 * are stored, when every one comes back to the bit, as
 *   MEAN_FROM_SUM  sum * k / covered_ms, k once for the section: a counter
 *                  whose samples are whole intervals of k ms (nothing per
 *                  bucket);
 *   MEAN_INTEGRAL  the integrals, decimals like the values they come from,
 *                  as a value block, each divided by covered_ms on reading;
 *   MEAN_EACH      the means, as a value block.
 * A byte naming the form precedes the block (k follows it). */
enum { MEAN_EACH = 0, MEAN_FROM_SUM = 1, MEAN_INTEGRAL = 2 };
#define MEAN_DEC_MAX 6

static double mean_of_sum(double sum, uint64_t k, int64_t covered)
{
	return sum * (double)k / (double)covered;
}

static double mean_of_integral(double integral, int64_t covered)
{
	return integral / (double)covered;
}

static int same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* k, or 0 when some bucket's mean is not sum * k / covered_ms. */
static uint64_t mean_sum_factor(const struct rollup *const *rs, size_t n)
{
	if (n == 0 || rs[0]->sum == 0)
		return 0;
	double k0 = rs[0]->mean * (double)rs[0]->covered_ms / rs[0]->sum;
	if (!(k0 >= 1 && k0 < 0x1p32))
		return 0;
	uint64_t k = (uint64_t)llround(k0);
	for (size_t i = 0; i < n; i++)
		if (!same_bits(mean_of_sum(rs[i]->sum, k, rs[i]->covered_ms), rs[i]->mean))
			return 0;
	return k;
}

/* The decimal integral that gives back r's mean, in *out: 0, or -1. */
static int mean_integral(const struct rollup *r, double *out)
{
	double scaled = r->mean * (double)r->covered_ms;
	double p = 1;
	for (int e = 0; e <= MEAN_DEC_MAX; e++, p *= 10) {
		if (!(fabs(scaled * p) < 0x1p53))
			return -1;
		double integral = (double)llround(scaled * p) / p;
		if (same_bits(mean_of_integral(integral, r->covered_ms), r->mean)) {
			*out = integral;
			return 0;
		}
	}
	return -1;
}

static void put_means(struct buf *col, const struct rollup *const *rs, size_t n, struct seg_scratch *sc)
{
	uint64_t k = mean_sum_factor(rs, n);
	if (k) {
		buf_u8(col, MEAN_FROM_SUM);
		buf_uvarint(col, k);
		return;
	}
	size_t i = 0;
	while (i < n && mean_integral(rs[i], &sc->vals[i]) == 0)
		i++;
	int form = i == n ? MEAN_INTEGRAL : MEAN_EACH;
	if (form == MEAN_EACH)
		for (i = 0; i < n; i++)
			sc->vals[i] = rs[i]->mean;
	buf_u8(col, (uint8_t)form);
	vblock_put(col, sc->vals, n, &sc->vb);
}

/* One value field of the buckets that store it, as one block. */
static void put_rollup_field(struct seg_builder *b, uint32_t count, int field)
{
	size_t n = 0;
	const struct rollup **with_mean = b->scratch.mean_of;
	for (uint32_t k = 0; k < count; k++) {
		const struct rollup *r = &b->scratch.rus[k];
		if (field == RV_MIN)
			b->scratch.vals[n++] = r->min;
		else if (field == RV_SUM && r->sum != 0)
			b->scratch.vals[n++] = r->sum;
		else if (field == RV_MEAN && !rollup_equal(r))
			with_mean[n++] = r;
		else if (field != RV_SUM && field != RV_MEAN && !rollup_equal(r))
			b->scratch.vals[n++] = field == RV_MAX ? r->max : r->last;
	}
	if (field == RV_MEAN && n)
		put_means(&b->col[SEG_COL_VALUE], with_mean, n, &b->scratch);
	else
		vblock_put(&b->col[SEG_COL_VALUE], b->scratch.vals, n, &b->scratch.vb);
}

static void put_rollups(struct seg_builder *b, const struct seg_section *s)
{
	int64_t res = tier_resolution_ms[b->tier];
	int64_t prev_start = s->origin - s->origin % res - res;
	struct buf *head = &b->col[SEG_COL_HEAD], *time = &b->col[SEG_COL_TIME];
	for (uint32_t k = 0; k < s->count; k++) {
		const struct rollup *r = &b->scratch.rus[k];
		int64_t skip = (r->start_ms - prev_start) / res - 1;
		uint8_t h = r->flags & RU_FLAGS;
		h |= (rollup_equal(r) ? RU_EQUAL : 0) | (r->covered_ms != res ? RU_PART : 0);
		h |= (r->sum != 0 ? RU_SUM : 0) | (skip ? RU_SKIP : 0);
		buf_u8(head, h);
		if (skip)
			buf_svarint(time, skip);
		if (h & RU_PART)
			buf_uvarint(time, (uint64_t)r->covered_ms);
		prev_start = r->start_ms;
	}
	for (int f = 0; f < RV_COUNT; f++)
		put_rollup_field(b, s->count, f);
}

int seg_add(struct seg_builder *b, const struct seg_section *s, int64_t t_first, int64_t t_last)
{
	size_t before[SEG_COLUMNS];
	for (int i = 0; i < SEG_COLUMNS; i++)
		before[i] = b->col[i].len;
	if (decode_rows(b, s) < 0)
		return -1;
	if (b->tier == TIER_RAW)
		put_intervals(b, s);
	else
		put_rollups(b, s);
	buf_svarint(&b->dir, s->series_id - b->prev_id);
	buf_uvarint(&b->dir, s->count);
	buf_svarint(&b->dir, s->origin - b->prev_origin);
	buf_uvarint(&b->dir, s->base_ms);
	for (int i = 0; i < SEG_COLUMNS; i++)
		buf_uvarint(&b->dir, b->col[i].len - before[i]);
	b->prev_id = s->series_id;
	b->prev_origin = s->origin;
	b->n++;
	if (t_first < b->t_first)
		b->t_first = t_first;
	if (t_last > b->t_last)
		b->t_last = t_last;
	return 0;
}

/* Appends part as its own compressed frame, preceded by its length. */
static int put_part(struct buf *blob, const struct buf *part, struct buf *packed, int level)
{
	if (part->failed || blob_pack_level(part, packed, level) < 0)
		return -1;
	buf_uvarint(blob, packed->len);
	buf_put(blob, packed->data, packed->len);
	return blob->failed ? -1 : 0;
}

int seg_finish(struct seg_builder *b, struct buf *blob, int level)
{
	struct buf top = { 0 }, packed = { 0 };
	buf_u8(&top, SEG_VERSION);
	buf_uvarint(&top, b->n);
	buf_uvarint(&top, b->dir.len);
	for (int i = 0; i < SEG_COLUMNS; i++)
		buf_uvarint(&top, b->col[i].len);
	buf_put(&top, b->dir.data, b->dir.len);
	if (b->dir.failed)
		top.failed = 1;
	size_t plain_len = top.len;
	for (int i = 0; i < SEG_COLUMNS; i++)
		plain_len += b->col[i].len;
	int rc;
	if (plain_len < SEG_PARTS_MIN) {
		for (int i = 0; i < SEG_COLUMNS; i++)
			buf_put(&top, b->col[i].data, b->col[i].len);
		rc = top.failed ? -1 : blob_pack_level(&top, blob, level);
	} else {
		buf_reset(blob);
		buf_u8(blob, SEG_BLOB_PARTS);
		rc = put_part(blob, &top, &packed, level);
		for (int i = 0; i < SEG_COLUMNS && rc == 0; i++)
			rc = put_part(blob, &b->col[i], &packed, level);
	}
	buf_free(&top);
	buf_free(&packed);
	return rc;
}

/* ---- reading ---------------------------------------------------------------- */

static int open_columns(struct seg_view *v, struct cursor *c)
{
	uint64_t dir_len = cur_uvarint(c), len[SEG_COLUMNS];
	for (int i = 0; i < SEG_COLUMNS; i++)
		len[i] = cur_uvarint(c);
	const uint8_t *dir = cur_bytes(c, (size_t)dir_len);
	if (c->bad || (!dir && dir_len))
		return -1;
	v->dir = (struct cursor){ dir, dir + dir_len, 0 };
	for (int i = 0; i < SEG_COLUMNS; i++) {
		v->col[i] = cur_bytes(c, (size_t)len[i]);
		v->col_len[i] = (size_t)len[i];
		if (c->bad)
			return -1;
	}
	return 0;
}

/* The parts of a format 2 blob, decompressed one after another into
 * v->plain. */
static int unpack_parts(struct seg_view *v, const uint8_t *blob, size_t len)
{
	struct cursor c = { blob + 1, blob + len, 0 };
	struct buf part = { 0 };
	int rc = 0;
	buf_reset(&v->plain);
	for (int i = 0; i <= SEG_COLUMNS && rc == 0; i++) {
		uint64_t n = cur_uvarint(&c);
		const uint8_t *p = cur_bytes(&c, (size_t)n);
		if (c.bad || !p || blob_unpack(p, (size_t)n, &part) < 0)
			rc = -1;
		else
			buf_put(&v->plain, part.data, part.len);
	}
	buf_free(&part);
	return rc < 0 || v->plain.failed ? -1 : 0;
}

int seg_open(struct seg_view *v, const void *blob, size_t len)
{
	const uint8_t *b = blob;
	int rc = len > 0 && b[0] == SEG_BLOB_PARTS ? unpack_parts(v, b, len) : blob_unpack(blob, len, &v->plain);
	if (rc < 0)
		return -1;
	struct cursor c = { v->plain.data, v->plain.data + v->plain.len, 0 };
	v->version = cur_u8(&c);
	v->n = (size_t)cur_uvarint(&c);
	if (v->version == SEG_V2)
		return open_columns(v, &c);
	if (v->version != SEG_V1)
		return -1;
	uint64_t dir_len = cur_uvarint(&c);
	const uint8_t *dir = cur_bytes(&c, (size_t)dir_len);
	if (c.bad || !dir)
		return -1;
	v->dir = (struct cursor){ dir, dir + dir_len, 0 };
	v->body = c.p;
	return 0;
}

static int next_v1(struct seg_view *v, struct cursor *dir, struct seg_section *out)
{
	const uint8_t *end = v->plain.data + v->plain.len;
	out->data += out->len;
	out->series_id += cur_svarint(dir);
	out->count = (uint32_t)cur_uvarint(dir);
	out->origin = cur_svarint(dir);
	out->base_ms = (uint32_t)cur_uvarint(dir);
	out->len = (size_t)cur_uvarint(dir);
	return dir->bad || out->len > (size_t)(end - out->data) ? -1 : 0;
}

static int next_v2(struct seg_view *v, struct cursor *dir, struct seg_section *out)
{
	out->series_id += cur_svarint(dir);
	out->count = (uint32_t)cur_uvarint(dir);
	out->origin += cur_svarint(dir);
	out->base_ms = (uint32_t)cur_uvarint(dir);
	for (int i = 0; i < SEG_COLUMNS; i++) {
		out->col[i] += out->col_len[i];
		out->col_len[i] = (size_t)cur_uvarint(dir);
		if (out->col_len[i] > (size_t)(v->col[i] + v->col_len[i] - out->col[i]))
			return -1;
	}
	return dir->bad ? -1 : 0;
}

int seg_next(struct seg_view *v, size_t *pos, struct cursor *dir, struct seg_section *out)
{
	if (*pos == 0) {
		memset(out, 0, sizeof(*out));
		*dir = v->dir;
		out->version = v->version;
		out->data = v->body;
		for (int i = 0; i < SEG_COLUMNS; i++)
			out->col[i] = v->col[i];
	}
	if (*pos >= v->n)
		return 0;
	if ((v->version == SEG_V1 ? next_v1(v, dir, out) : next_v2(v, dir, out)) < 0)
		return -1;
	(*pos)++;
	return 1;
}

int seg_find(struct seg_view *v, int64_t series_id, struct seg_section *out)
{
	size_t pos = 0;
	struct cursor dir;
	int rc;
	while ((rc = seg_next(v, &pos, &dir, out)) == 1)
		if (out->series_id == series_id)
			return 1;
	return rc;
}

void seg_view_free(struct seg_view *v)
{
	buf_free(&v->plain);
}

/* ---- reading records ---------------------------------------------------------- */

static struct cursor col_cursor(const struct seg_section *sec, int col)
{
	return (struct cursor){ sec->col[col], sec->col[col] + sec->col_len[col], 0 };
}

/* How many buckets of a rollup section store each value field. */
static void rollup_field_counts(const struct seg_section *sec, size_t n[RV_COUNT])
{
	const uint8_t *h = sec->col[SEG_COL_HEAD];
	n[RV_MIN] = sec->count;
	n[RV_MAX] = n[RV_MEAN] = n[RV_LAST] = n[RV_SUM] = 0;
	for (uint32_t k = 0; k < sec->count; k++) {
		if (!(h[k] & RU_EQUAL))
			n[RV_MAX]++;
		if (h[k] & RU_SUM)
			n[RV_SUM]++;
	}
	n[RV_MEAN] = n[RV_LAST] = n[RV_MAX];
}

static int open_means(struct seg_reader *r, struct cursor *val)
{
	r->mean_form = cur_u8(val);
	if (r->mean_form == MEAN_FROM_SUM)
		r->mean_k = cur_uvarint(val);
	return val->bad || r->mean_form > MEAN_INTEGRAL || (r->mean_form == MEAN_FROM_SUM && !r->mean_k) ? -1 : 0;
}

static int open_v2(struct seg_reader *r, const struct seg_section *sec)
{
	struct cursor val = col_cursor(sec, SEG_COL_VALUE);
	r->head = col_cursor(sec, SEG_COL_HEAD);
	r->time = col_cursor(sec, SEG_COL_TIME);
	if (sec->col_len[SEG_COL_HEAD] != sec->count)
		return -1;
	if (r->res_ms == 0) {
		r->prev_end = sec->origin;
		return vblock_open(&r->val[0], &val, sec->count);
	}
	size_t n[RV_COUNT];
	rollup_field_counts(sec, n);
	r->prev_start = sec->origin - sec->origin % r->res_ms - r->res_ms;
	for (int f = 0; f < RV_COUNT; f++) {
		if (f == RV_MEAN && n[f] && open_means(r, &val) < 0)
			return -1;
		if (f == RV_MEAN && r->mean_form == MEAN_FROM_SUM)
			continue;
		if (vblock_open(&r->val[f], &val, n[f]) < 0)
			return -1;
	}
	return 0;
}

int seg_reader_open(struct seg_reader *r, const struct seg_section *sec, int64_t res_ms)
{
	memset(r, 0, sizeof(*r));
	r->sec = sec;
	r->res_ms = res_ms;
	if (sec->version == SEG_V2)
		return open_v2(r, sec);
	r->row = (struct cursor){ sec->data, sec->data + sec->len, 0 };
	if (res_ms == 0)
		interval_enc_init(&r->ienc, sec->origin, sec->base_ms);
	else
		rollup_enc_init(&r->renc, sec->origin, res_ms);
	return 0;
}

static int read_interval_v2(struct seg_reader *r, struct interval *iv)
{
	uint8_t h = cur_u8(&r->head);
	iv->flags = h & RAW_FLAGS;
	iv->n = h >> RAW_N_SHIFT ? h >> RAW_N_SHIFT : (uint32_t)cur_uvarint(&r->time);
	int64_t dev = h & RAW_DEV ? cur_svarint(&r->time) : 0;
	int64_t off = h & RAW_OFF ? cur_svarint(&r->time) : 0;
	iv->t_start_ms = r->prev_end + off;
	iv->t_end_ms = iv->t_start_ms + (int64_t)iv->n * r->sec->base_ms + dev;
	iv->value = vblock_next(&r->val[0]);
	r->prev_end = iv->t_end_ms;
	return r->head.bad || r->time.bad || vblock_bad(&r->val[0]) ? -1 : 1;
}

int seg_read_interval(struct seg_reader *r, struct interval *iv)
{
	if (r->done >= r->sec->count)
		return 0;
	r->done++;
	if (r->sec->version == SEG_V2)
		return read_interval_v2(r, iv);
	return interval_get(&r->row, &r->ienc, iv) < 0 ? -1 : 1;
}

static double read_mean(struct seg_reader *r, const struct rollup *ru)
{
	if (ru->covered_ms <= 0 && r->mean_form != MEAN_EACH) {
		r->head.bad = 1;
		return 0;
	}
	if (r->mean_form == MEAN_FROM_SUM)
		return mean_of_sum(ru->sum, r->mean_k, ru->covered_ms);
	double v = vblock_next(&r->val[RV_MEAN]);
	return r->mean_form == MEAN_INTEGRAL ? mean_of_integral(v, ru->covered_ms) : v;
}

static int read_rollup_v2(struct seg_reader *r, struct rollup *ru)
{
	uint8_t h = cur_u8(&r->head);
	int64_t skip = h & RU_SKIP ? cur_svarint(&r->time) : 0;
	ru->flags = h & RU_FLAGS;
	ru->start_ms = r->prev_start + (skip + 1) * r->res_ms;
	ru->covered_ms = h & RU_PART ? (int64_t)cur_uvarint(&r->time) : r->res_ms;
	ru->min = vblock_next(&r->val[RV_MIN]);
	ru->sum = h & RU_SUM ? vblock_next(&r->val[RV_SUM]) : 0;
	if (h & RU_EQUAL) {
		ru->max = ru->mean = ru->last = ru->min;
	} else {
		ru->max = vblock_next(&r->val[RV_MAX]);
		ru->mean = read_mean(r, ru);
		ru->last = vblock_next(&r->val[RV_LAST]);
	}
	r->prev_start = ru->start_ms;
	int bad = r->head.bad || r->time.bad;
	for (int f = 0; f < RV_COUNT; f++)
		bad |= vblock_bad(&r->val[f]);
	return bad ? -1 : 1;
}

int seg_read_rollup(struct seg_reader *r, struct rollup *ru)
{
	if (r->done >= r->sec->count)
		return 0;
	r->done++;
	if (r->sec->version == SEG_V2)
		return read_rollup_v2(r, ru);
	return rollup_get(&r->row, &r->renc, ru) < 0 ? -1 : 1;
}
