/* Counters and per-stage wall times of a server's request pipeline,
 * answered to a StatsQuery (schema/vigil.proto). Each request carries a
 * stage timer: marking a stage adds the time since the timer's previous
 * mark to that stage. Counters are updated atomically, so worker threads,
 * nng's callbacks and the store's writer share one struct server_stats
 * (the server's; zero it to start). */
#ifndef VIGIL_SERVER_STATS_H
#define VIGIL_SERVER_STATS_H

#include <stdint.h>

#include "vigil.pb-c.h"

enum server_stage {
	STAGE_RECEIVE, /* arrived, waiting for a worker */
	STAGE_DECODE,  /* unpacking and validating */
	STAGE_SLA,     /* the SLA checks on a batch */
	STAGE_COMMIT,  /* with the store until the group commit is done */
	STAGE_ACK,     /* packing and sending a batch's reply */
	STAGE_QUERY,   /* answering a query */
	STAGE_REPLY,   /* packing and sending any other reply */
	STAGE_COUNT
};

struct stage_counter {
	uint64_t count, total_ns, max_ns;
};

struct server_stats {
	int64_t started_ms;
	uint64_t requests, batches, samples, duplicates, errors;
	struct stage_counter stages[STAGE_COUNT];
};

/* One request's way through the stages, counted into stats. */
struct stage_timer {
	struct server_stats *stats;
	uint64_t last_ns;
	int last_stage; /* -1 before the first mark */
};

/* Records when the server started (reported as started_ms). */
void server_stats_started(struct server_stats *s, int64_t now_ms);

/* The request's first stage begins now; its stages count into s. */
void stage_timer_start(struct stage_timer *t, struct server_stats *s);

/* Adds the time since the timer's previous mark (or start) to stage. */
void stage_timer_mark(struct stage_timer *t, enum server_stage stage);

/* The reply went out: its time counts as "ack" after a batch was
 * stored, else as "reply". */
void stage_timer_sent(struct stage_timer *t);

void server_stats_count_request(struct server_stats *s);
void server_stats_count_error(struct server_stats *s);
void server_stats_count_batch(struct server_stats *s, const Vigil__Batch *b, int duplicate);

/* A snapshot of every counter. NULL when out of memory; free with
 * server_stats_free(). */
Vigil__StatsReply *server_stats_snapshot(struct server_stats *s);
void server_stats_free(Vigil__StatsReply *r);

#endif
