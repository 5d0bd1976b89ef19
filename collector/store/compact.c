/* Hourly merging of segments (docs/storage.md, "Compaction").
 *
 * Every flush writes one segment per VM and tier, each holding a few
 * minutes of each series: at 1,000 VMs and a flush every few minutes, a
 * section's directory entry and block headers weigh as much as its values
 * (a one-minute section holds three or four buckets). Once a VM's clock has
 * passed the end of an hour, the next flush rewrites that hour's raw and
 * one-minute segments of the VM, together with what it writes anyway, as
 * one section per series. The merge runs in the flush's transaction: the
 * old segments are deleted and the new one inserted together, so readers
 * (which read in their own transactions) see one or the other.
 *
 * Like a block stream merger, it reads its inputs (the flush's pending
 * streams, given as plain data, and the hour's segments, read through
 * segtable.c) and writes one output (period.c's builders, inserted through
 * segtable.c); it never calls back into the writer that owns the streams. */
#include "compact.h"

#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "log.h"
#include "rollup.h"
#include "segment.h"

#define HOUR_MS 3600000LL

/* The segments of one VM, tier and hour, opened. */
struct hour_segs {
	int64_t *ids;
	struct seg_view *views;
	size_t n, cap;
};

static void hour_segs_free(struct hour_segs *h)
{
	for (size_t i = 0; i < h->n; i++)
		seg_view_free(&h->views[i]);
	free(h->ids);
	free(h->views);
	memset(h, 0, sizeof(*h));
}

/* 0, or -1 out of memory or when the blob does not decode. */
static int hour_segs_add(struct hour_segs *h, int64_t id, const void *blob, size_t len)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 32;
		int64_t *ids = realloc(h->ids, cap * sizeof(*ids));
		if (ids)
			h->ids = ids;
		struct seg_view *views = ids ? realloc(h->views, cap * sizeof(*views)) : NULL;
		if (!views)
			return -1;
		h->views = views;
		h->cap = cap;
	}
	struct seg_view *v = &h->views[h->n];
	memset(v, 0, sizeof(*v));
	if (seg_open(v, blob, len) < 0) {
		seg_view_free(v);
		return -1;
	}
	h->ids[h->n++] = id;
	return 0;
}

static int hour_seg_load(void *arg, int64_t id, const void *blob, size_t len)
{
	return hour_segs_add(arg, id, blob, len) < 0 ? 1 : 0;
}

/* 0 loaded, 1 not mergeable (a segment that does not decode, or out of
 * memory: the flush then writes as usual), -1 on a database error. */
static int load_hour(struct segtable *segs, const struct compact_input *in, int64_t hour, struct hour_segs *h,
		     char *err, size_t errlen)
{
	int rc = segtable_each(segs, in->vm_id, in->tier, hour, hour + HOUR_MS, hour_seg_load, h, err, errlen);
	if (rc > 0) {
		log_warn("VM %lld: a segment of tier %d does not decode; the hour's segments are left unmerged",
			 (long long)in->vm_id, in->tier);
		return 1;
	}
	return rc;
}

/* A series to write: its id, and its pending stream when the writer has
 * one (a series only in old segments may have none since a restart). */
struct merge_item {
	int64_t id;
	const struct series_pending *s;
};

static int by_id(const void *a, const void *b)
{
	const struct merge_item *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->s == NULL) - (y->s == NULL); /* the one the writer knows first */
}

/* Every series with pending data or a section in the hour's segments, by
 * id, once each. */
static struct merge_item *merge_items(const struct compact_input *in, struct hour_segs *h, int with_pending,
				      size_t *n_out)
{
	size_t n = 0, cap = in->n_series + 16;
	struct merge_item *it = malloc(cap * sizeof(*it));
	for (size_t i = 0; it && i < in->n_series; i++)
		if (with_pending ? in->series[i].pending->count : 1)
			it[n++] = (struct merge_item){ in->series[i].series_id, &in->series[i] };
	for (size_t k = 0; it && k < h->n; k++) {
		size_t pos = 0;
		struct cursor dir;
		struct seg_section sec;
		while (it && seg_next(&h->views[k], &pos, &dir, &sec) == 1) {
			if (n == cap) {
				struct merge_item *bigger = realloc(it, (cap *= 2) * sizeof(*it));
				if (!bigger)
					free(it);
				it = bigger;
			}
			if (it)
				it[n++] = (struct merge_item){ sec.series_id, NULL };
		}
	}
	if (!it)
		return NULL;
	qsort(it, n, sizeof(*it), by_id);
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (kept == 0 || it[kept - 1].id != it[i].id)
			it[kept++] = it[i];
	*n_out = kept;
	return it;
}

/* One series' records, old and pending, re-encoded as one row stream. */
struct stream {
	int tier;
	uint32_t base;
	struct pending p;
	struct interval_enc ienc;
	struct rollup_enc renc;
};

static void stream_reset(struct stream *st, int tier, uint32_t base)
{
	buf_reset(&st->p.data);
	st->p.count = 0;
	st->tier = tier;
	st->base = base ? base : 1;
}

/* Appends what r reads. 0, or -1 when the section is corrupt. */
static int stream_copy(struct stream *st, struct seg_reader *r)
{
	int rc;
	struct interval iv;
	struct rollup ru;
	int64_t res = tier_resolution_ms[st->tier];
	while ((rc = st->tier == TIER_RAW ? seg_read_interval(r, &iv) : seg_read_rollup(r, &ru)) == 1) {
		int64_t t0 = st->tier == TIER_RAW ? iv.t_start_ms : ru.start_ms;
		int64_t t1 = st->tier == TIER_RAW ? iv.t_end_ms : ru.start_ms + res;
		if (st->p.count == 0) {
			/* The stream's origin: period_add_stream reads from p.first. */
			st->p.first = t0;
			st->p.last = t1;
			interval_enc_init(&st->ienc, t0, st->base);
			rollup_enc_init(&st->renc, t0, res ? res : 1);
		}
		if (st->tier == TIER_RAW)
			interval_put(&st->p.data, &st->ienc, &iv);
		else
			rollup_put(&st->p.data, &st->renc, &ru);
		if (t1 > st->p.last)
			st->p.last = t1;
		st->p.count++;
	}
	return rc;
}

/* The series' sections in the old segments (in the order they were
 * written, so in time order), then its pending records. */
static int stream_build(struct stream *st, struct hour_segs *h, const struct merge_item *it, int tier,
			int with_pending)
{
	int64_t res = tier_resolution_ms[tier];
	struct seg_section sec;
	struct seg_reader rd;
	uint32_t base = it->s && tier == TIER_RAW ? it->s->base_ms : 0;
	for (size_t k = 0; k < h->n && !base; k++)
		if (seg_find(&h->views[k], it->id, &sec) == 1)
			base = sec.base_ms;
	stream_reset(st, tier, base);
	for (size_t k = 0; k < h->n; k++) {
		int found = seg_find(&h->views[k], it->id, &sec);
		if (found < 0 || (found == 1 && (seg_reader_open(&rd, &sec, res) < 0 || stream_copy(st, &rd) < 0)))
			return -1;
	}
	const struct pending *p = it->s && with_pending ? it->s->pending : NULL;
	if (!p || p->count == 0)
		return 0;
	struct seg_section own = { .series_id = it->id, .count = p->count, .origin = p->first,
				   .base_ms = tier == TIER_RAW ? it->s->base_ms : 0,
				   .data = p->data.data, .len = p->data.len };
	if (seg_reader_open(&rd, &own, res) < 0 || stream_copy(st, &rd) < 0)
		return -1;
	return 0;
}

static int drop_old(struct segtable *segs, const struct hour_segs *h, char *err, size_t errlen)
{
	for (size_t k = 0; k < h->n; k++)
		if (segtable_delete(segs, h->ids[k], err, errlen) < 0)
			return -1;
	return 0;
}

/* Inserts every segment the set holds. */
static int insert_all(struct segtable *segs, const struct period_set *ps, int64_t vm_id, int tier, int level,
		      char *err, size_t errlen)
{
	for (size_t i = 0; i < ps->n; i++)
		if (segtable_insert(segs, vm_id, tier, &ps->p[i].b, level, err, errlen) < 0)
			return -1;
	return 0;
}

static int merge_write(struct segtable *segs, struct period_set *ps, const struct compact_input *in,
		       struct hour_segs *h, int with_pending, char *err, size_t errlen)
{
	size_t n = 0;
	int tier = in->tier;
	struct merge_item *it = merge_items(in, h, with_pending, &n);
	struct stream st = { 0 };
	int rc = it ? 0 : errmsg_set(err, errlen, "out of memory");
	period_set_reset(ps);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (stream_build(&st, h, &it[i], tier, with_pending) < 0)
			rc = errmsg_set(err, errlen, "merging the segments of series %lld", (long long)it[i].id);
		else if (st.p.count &&
			 period_add_stream(ps, &st.p, tier, it[i].id, tier == TIER_RAW ? st.base : 0) < 0)
			rc = errmsg_set(err, errlen, "re-encoding series %lld", (long long)it[i].id);
	}
	if (rc == 0)
		rc = insert_all(segs, ps, in->vm_id, tier, SEG_LEVEL_FINAL, err, errlen);
	if (rc == 0)
		rc = drop_old(segs, h, err, errlen);
	buf_free(&st.p.data);
	free(it);
	return rc;
}

/* VMs merge an hour at different times, from 5 to 45 minutes after it
 * ends, so that one flush does not merge every VM's hour at once (the
 * writer, and so ingest, would stall for seconds at 1,000 VMs), and a
 * series' last interval of the hour, closed by the next batch, is in a
 * segment by then. */
#define PHASE_MIN_MS (5 * 60000LL)
#define PHASE_SPAN_MS (40 * 60000LL)

static int64_t merge_phase(int64_t vm_id)
{
	uint64_t h = (uint64_t)vm_id * 0x9E3779B97F4A7C15ull;
	return PHASE_MIN_MS + (int64_t)((h >> 32) % (uint64_t)PHASE_SPAN_MS);
}

/* The whole hour to merge for the VM's tier, or INT64_MIN when none is
 * due. */
static int64_t hour_due(const struct compact_input *in, const int64_t *compacted_until)
{
	if (in->tier == TIER_1H || !in->has_clock)
		return INT64_MIN;
	int64_t end = bucket_floor(in->clock_end - (in->closing ? 0 : merge_phase(in->vm_id)), HOUR_MS);
	return *compacted_until < end ? end - HOUR_MS : INT64_MIN;
}

/* Merges the hour's segments of the VM's tier, with its pending data
 * when with_pending (otherwise that is left for the caller to write).
 * Sets *merged when there was something to merge. */
static int merge_hour(struct segtable *segs, struct period_set *ps, const struct compact_input *in, int64_t hour,
		      int with_pending, int *merged, int64_t *compacted_until, char *err, size_t errlen)
{
	struct hour_segs h = { 0 };
	int rc = load_hour(segs, in, hour, &h, err, errlen);
	/* Even a single segment, or only pending data, is written anew: a
	 * flush writes at the fast level, and a finished hour keeps the tight
	 * one. */
	*merged = rc == 0 && (h.n > 0 || with_pending);
	if (*merged)
		rc = merge_write(segs, ps, in, &h, with_pending, err, errlen);
	hour_segs_free(&h);
	if (rc >= 0 && hour + HOUR_MS > *compacted_until)
		*compacted_until = hour + HOUR_MS;
	return rc < 0 ? -1 : 0;
}

/* in's pending data as it is, one segment per period: raw and one-minute
 * ones at the fast level, since they are rewritten once their hour is
 * over. */
static int pending_write(struct segtable *segs, struct period_set *ps, const struct compact_input *in, char *err,
			 size_t errlen)
{
	period_set_reset(ps);
	for (size_t i = 0; i < in->n_series; i++)
		if (period_add_pending(ps, &in->series[i], in->tier, err, errlen) < 0)
			return -1;
	int level = in->tier == TIER_1H ? SEG_LEVEL_FINAL : SEG_LEVEL_FAST;
	return insert_all(segs, ps, in->vm_id, in->tier, level, err, errlen);
}

int compact_write(struct segtable *segs, struct period_set *scratch, const struct compact_input *in,
		  int64_t *compacted_until, char *err, size_t errlen)
{
	int merged = 0;
	int64_t hour = hour_due(in, compacted_until);
	if (in->closing) {
		/* A clean stop merges the last whole hour if it is not yet,
		 * and the hour in progress: the next start adds to that one
		 * and merges it again once it is over. */
		if (hour != INT64_MIN &&
		    merge_hour(segs, scratch, in, hour, 0, &merged, compacted_until, err, errlen) < 0)
			return -1;
		hour = in->has_clock && in->tier != TIER_1H ? bucket_floor(in->clock_end, HOUR_MS) : INT64_MIN;
	}
	merged = 0;
	if (hour != INT64_MIN && merge_hour(segs, scratch, in, hour, 1, &merged, compacted_until, err, errlen) < 0)
		return -1;
	return merged ? 0 : pending_write(segs, scratch, in, err, errlen);
}
