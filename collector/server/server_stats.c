#include "server_stats.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

static const char *const stage_names[STAGE_COUNT] = {
	[STAGE_RECEIVE] = "receive", [STAGE_DECODE] = "decode", [STAGE_SLA] = "sla",
	[STAGE_COMMIT] = "commit",   [STAGE_ACK] = "ack",	[STAGE_QUERY] = "query",
	[STAGE_REPLY] = "reply",
};

static void add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static void raise_max(uint64_t *max, uint64_t v)
{
	uint64_t seen = load(max);
	while (v > seen && !__atomic_compare_exchange_n(max, &seen, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void server_stats_started(struct server_stats *s, int64_t now_ms)
{
	__atomic_store_n(&s->started_ms, now_ms, __ATOMIC_RELAXED);
}

void stage_timer_start(struct stage_timer *t, struct server_stats *s)
{
	t->stats = s;
	t->last_ns = clock_monotonic_ns();
	t->last_stage = -1;
}

void stage_timer_mark(struct stage_timer *t, enum server_stage stage)
{
	uint64_t now = clock_monotonic_ns();
	uint64_t spent = t->last_ns && now > t->last_ns ? now - t->last_ns : 0;
	struct stage_counter *c = &t->stats->stages[stage];
	add(&c->count, 1);
	add(&c->total_ns, spent);
	raise_max(&c->max_ns, spent);
	t->last_ns = now;
	t->last_stage = (int)stage;
}

void stage_timer_sent(struct stage_timer *t)
{
	stage_timer_mark(t, t->last_stage == STAGE_COMMIT ? STAGE_ACK : STAGE_REPLY);
}

void server_stats_count_request(struct server_stats *s)
{
	add(&s->requests, 1);
}

void server_stats_count_error(struct server_stats *s)
{
	add(&s->errors, 1);
}

void server_stats_count_batch(struct server_stats *s, const Vigil__Batch *b, int duplicate)
{
	if (duplicate) {
		add(&s->duplicates, 1);
		return;
	}
	uint64_t n = 0;
	for (size_t i = 0; i < b->n_vms; i++)
		n += b->vms[i]->n_samples;
	add(&s->batches, 1);
	add(&s->samples, n);
}

/* Every part is allocated with malloc, as protobuf-c's free_unpacked
 * releases it; the stage names are copied for the same reason. */
static Vigil__StageTime *stage_snapshot(struct server_stats *st, enum server_stage s)
{
	Vigil__StageTime *t = malloc(sizeof(*t));
	if (!t)
		return NULL;
	vigil__stage_time__init(t);
	t->stage = strdup(stage_names[s]);
	t->count = load(&st->stages[s].count);
	t->total_ns = load(&st->stages[s].total_ns);
	t->max_ns = load(&st->stages[s].max_ns);
	if (!t->stage) {
		free(t);
		return NULL;
	}
	return t;
}

Vigil__StatsReply *server_stats_snapshot(struct server_stats *st)
{
	Vigil__StatsReply *r = malloc(sizeof(*r));
	if (!r)
		return NULL;
	vigil__stats_reply__init(r);
	r->started_ms = __atomic_load_n(&st->started_ms, __ATOMIC_RELAXED);
	r->requests = load(&st->requests);
	r->batches = load(&st->batches);
	r->samples = load(&st->samples);
	r->duplicates = load(&st->duplicates);
	r->errors = load(&st->errors);
	r->stages = calloc(STAGE_COUNT, sizeof(*r->stages));
	if (!r->stages) {
		free(r);
		return NULL;
	}
	for (int s = 0; s < STAGE_COUNT; s++) {
		if (!(r->stages[s] = stage_snapshot(st, (enum server_stage)s))) {
			server_stats_free(r);
			return NULL;
		}
		r->n_stages++;
	}
	return r;
}

void server_stats_free(Vigil__StatsReply *r)
{
	if (r)
		vigil__stats_reply__free_unpacked(r, NULL);
}
