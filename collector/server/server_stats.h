/* Counters and per-stage wall times of the collector's request pipeline,
 * answered to a StatsQuery (schema/vigil.proto). Each request carries a
 * stage timer: marking a stage adds the time since the timer's previous
 * mark to that stage. Counters are updated atomically, so worker threads,
 * nng's callbacks and the store's writer share them. */
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

/* One request's way through the stages. */
struct stage_timer {
	uint64_t last_ns;
	int last_stage; /* -1 before the first mark */
};

/* Records when the server started (reported as started_ms). */
void server_stats_started(int64_t now_ms);

/* The request's first stage begins now. */
void stage_timer_start(struct stage_timer *t);

/* Adds the time since the timer's previous mark (or start) to stage. */
void stage_timer_mark(struct stage_timer *t, enum server_stage stage);

/* The reply went out: its time counts as "ack" after a batch was
 * stored, else as "reply". */
void stage_timer_sent(struct stage_timer *t);

void server_stats_count_request(void);
void server_stats_count_error(void);
void server_stats_count_batch(const Vigil__Batch *b, int duplicate);

/* A snapshot of every counter. NULL when out of memory; free with
 * server_stats_free(). */
Vigil__StatsReply *server_stats_snapshot(void);
void server_stats_free(Vigil__StatsReply *r);

#endif
