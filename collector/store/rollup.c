#include "rollup.h"

#include <string.h>

void rollup_current(const struct rollup_acc *acc, struct rollup *out)
{
	*out = acc->cur;
	out->mean = acc->cur.covered_ms > 0 ? acc->integral / (double)acc->cur.covered_ms : acc->cur.last;
	/* Rounding may put a mean of equal values a hair off them. */
	if (out->mean < out->min)
		out->mean = out->min;
	if (out->mean > out->max)
		out->mean = out->max;
}

static void emit_current(struct rollup_acc *acc, int64_t res_ms, rollup_emit_fn emit, void *arg)
{
	if (!acc->has)
		return;
	struct rollup r;
	rollup_current(acc, &r);
	if (r.covered_ms < res_ms)
		r.flags |= IV_GAP;
	emit(&r, arg);
	acc->has = 0;
}

static void start_bucket(struct rollup_acc *acc, int64_t start)
{
	memset(&acc->cur, 0, sizeof(acc->cur));
	acc->cur.start_ms = start;
	acc->integral = 0;
	acc->last_t = INT64_MIN;
	acc->has = 1;
}

/* Makes acc's current bucket the one starting at start. */
static void enter_bucket(struct rollup_acc *acc, int64_t res_ms, int64_t start, rollup_emit_fn emit, void *arg)
{
	if (acc->has && acc->cur.start_ms == start)
		return;
	emit_current(acc, res_ms, emit, arg);
	start_bucket(acc, start);
}

static void add_part(struct rollup_acc *acc, int64_t ms, double min, double max, double integral, double last,
		     int64_t last_t, double sum, uint8_t flags)
{
	struct rollup *c = &acc->cur;
	if (c->covered_ms == 0 && acc->last_t == INT64_MIN) {
		c->min = min;
		c->max = max;
	} else {
		if (min < c->min)
			c->min = min;
		if (max > c->max)
			c->max = max;
	}
	c->covered_ms += ms;
	acc->integral += integral;
	c->sum += sum;
	c->flags |= flags & IV_RESET;
	if (last_t >= acc->last_t) {
		c->last = last;
		acc->last_t = last_t;
	}
}

void rollup_feed(struct rollup_acc *acc, int64_t res_ms, int64_t t0, int64_t t1, double value, double total,
		 uint8_t flags, rollup_emit_fn emit, void *arg)
{
	if (t1 <= t0)
		return;
	double span = (double)(t1 - t0);
	for (int64_t b = bucket_floor(t0, res_ms); b < t1; b += res_ms) {
		int64_t lo = t0 > b ? t0 : b, hi = t1 < b + res_ms ? t1 : b + res_ms;
		enter_bucket(acc, res_ms, b, emit, arg);
		double share = (double)(hi - lo) / span;
		add_part(acc, hi - lo, value, value, value * (double)(hi - lo), value, hi,
			 total * share, b == bucket_floor(t0, res_ms) ? flags : 0);
	}
}

void rollup_compose(struct rollup_acc *acc, int64_t res_ms, const struct rollup *r, rollup_emit_fn emit, void *arg)
{
	enter_bucket(acc, res_ms, bucket_floor(r->start_ms, res_ms), emit, arg);
	add_part(acc, r->covered_ms, r->min, r->max, r->mean * (double)r->covered_ms, r->last, r->start_ms, r->sum,
		 r->flags);
}

void rollup_flush_before(struct rollup_acc *acc, int64_t res_ms, int64_t t, rollup_emit_fn emit, void *arg)
{
	if (acc->has && (t == INT64_MAX || acc->cur.start_ms + res_ms <= t))
		emit_current(acc, res_ms, emit, arg);
}

void rollup_merge(struct rollup *a, const struct rollup *b)
{
	double integral = a->mean * (double)a->covered_ms + b->mean * (double)b->covered_ms;
	if (b->min < a->min)
		a->min = b->min;
	if (b->max > a->max)
		a->max = b->max;
	a->covered_ms += b->covered_ms;
	a->mean = a->covered_ms ? integral / (double)a->covered_ms : b->mean;
	a->last = b->last;
	a->sum += b->sum;
	a->flags |= b->flags;
}
