#include "period.h"

#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "rollup.h"

/* Raw segments hold an hour, one-minute ones a day, one-hour ones 30 days. */
const int64_t segment_period_ms[TIER_COUNT] = { 3600000LL, 86400000LL, 30 * 86400000LL };

void period_set_reset(struct period_set *ps)
{
	ps->n = 0;
}

void period_set_free(struct period_set *ps)
{
	for (size_t i = 0; i < ps->cap; i++)
		seg_builder_free(&ps->p[i].b);
	free(ps->p);
	buf_free(&ps->split.data);
	memset(ps, 0, sizeof(*ps));
}

/* The builder of period's segment, started when the set has none. */
static struct seg_builder *period_builder(struct period_set *ps, int tier, int64_t period)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->p[i].period == period)
			return &ps->p[i].b;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 8;
		struct period_seg *g = realloc(ps->p, cap * sizeof(*g));
		if (!g)
			return NULL;
		memset(g + ps->cap, 0, (cap - ps->cap) * sizeof(*g));
		ps->p = g;
		ps->cap = cap;
	}
	struct period_seg *x = &ps->p[ps->n++];
	x->period = period;
	seg_builder_reset(&x->b, tier);
	return &x->b;
}

static int split_flush(struct period_set *ps, int tier, int64_t series_id, uint32_t base)
{
	struct period_split *sp = &ps->split;
	if (sp->count == 0)
		return 0;
	struct seg_builder *b = period_builder(ps, tier, sp->period);
	struct seg_section sec = { .series_id = series_id, .count = sp->count, .origin = sp->origin,
				   .base_ms = base, .data = sp->data.data, .len = sp->data.len };
	if (!b || seg_add(b, &sec, sp->first, sp->last) < 0)
		return -1;
	buf_reset(&sp->data);
	sp->count = 0;
	return 0;
}

int period_add_stream(struct period_set *ps, const struct pending *p, int tier, int64_t series_id, uint32_t base)
{
	struct period_split *sp = &ps->split;
	int64_t len = segment_period_ms[tier], res = tier_resolution_ms[tier];
	struct cursor c = { p->data.data, p->data.data + p->data.len, 0 };
	struct interval_enc ienc;
	struct rollup_enc renc;
	interval_enc_init(&ienc, p->first, base);
	rollup_enc_init(&renc, p->first, res ? res : 1);
	sp->count = 0;
	for (uint32_t k = 0; k < p->count; k++) {
		struct interval iv;
		struct rollup r;
		int64_t t0, t1;
		if (tier == TIER_RAW ? interval_get(&c, &ienc, &iv) < 0 : rollup_get(&c, &renc, &r) < 0)
			return -1;
		t0 = tier == TIER_RAW ? iv.t_start_ms : r.start_ms;
		t1 = tier == TIER_RAW ? iv.t_end_ms : r.start_ms + res;
		int64_t period = bucket_floor(t0, len);
		if (sp->count && period != sp->period && split_flush(ps, tier, series_id, base) < 0)
			return -1;
		if (sp->count == 0) {
			sp->period = period;
			sp->first = t0;
			sp->last = t1;
			sp->origin = t0;
			interval_enc_init(&sp->ienc, t0, base);
			rollup_enc_init(&sp->renc, t0, res ? res : 1);
		}
		if (tier == TIER_RAW)
			interval_put(&sp->data, &sp->ienc, &iv);
		else
			rollup_put(&sp->data, &sp->renc, &r);
		sp->count++;
		if (t0 < sp->first)
			sp->first = t0;
		if (t1 > sp->last)
			sp->last = t1;
	}
	return split_flush(ps, tier, series_id, base);
}

int period_add_pending(struct period_set *ps, const struct series_pending *s, int tier, char *err, size_t errlen)
{
	const struct pending *p = s->pending;
	int64_t len = segment_period_ms[tier];
	uint32_t base = tier == TIER_RAW ? s->base_ms : 0;
	if (p->count == 0)
		return 0;
	if (bucket_floor(p->first, len) != bucket_floor(p->last - 1, len)) {
		if (period_add_stream(ps, p, tier, s->series_id, base) < 0)
			return errmsg_set(err, errlen, "re-encoding the pending data of series %lld",
				       (long long)s->series_id);
		return 0;
	}
	struct seg_builder *b = period_builder(ps, tier, bucket_floor(p->first, len));
	if (!b)
		return errmsg_set(err, errlen, "out of memory");
	struct seg_section sec = { .series_id = s->series_id, .count = p->count, .origin = p->first,
				   .base_ms = base, .data = p->data.data, .len = p->data.len };
	if (seg_add(b, &sec, p->first, p->last) < 0)
		return errmsg_set(err, errlen, "encoding the pending data of series %lld", (long long)s->series_id);
	return 0;
}
