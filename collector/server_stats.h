/* Counters and per-stage wall times of the collector's request loop,
 * answered to a StatsQuery (schema/vigil.proto). The request loop marks the
 * end of each stage; the time since the previous mark goes to that stage.
 * Counters are updated atomically and marks are per thread, so several
 * request threads may share them. */
#ifndef VIGIL_SERVER_STATS_H
#define VIGIL_SERVER_STATS_H

#include <stdint.h>

#include "vigil.pb-c.h"

enum server_stage {
	STAGE_RECEIVE, /* waiting on the socket until a request arrived */
	STAGE_DECODE,  /* unpacking and validating */
	STAGE_COMMIT,  /* storing a batch */
	STAGE_POST_COMMIT, /* after the commit, before the reply (work hooked on a stored batch) */
	STAGE_ACK,     /* packing and sending a batch's reply */
	STAGE_QUERY,   /* answering a query */
	STAGE_REPLY,   /* packing and sending any other reply */
	STAGE_COUNT
};

/* Records when the request loop started (reported as started_ms). */
void server_stats_started(int64_t now_ms);

/* Starts timing on this thread: the next mark's stage begins now. */
void server_stats_begin(void);

/* Adds the time since this thread's previous mark (or begin) to stage. */
void server_stats_mark(enum server_stage stage);

/* The reply went out: its time counts as "ack" after a batch was
 * stored, else as "reply". */
void server_stats_sent(void);

void server_stats_count_request(void);
void server_stats_count_error(void);
void server_stats_count_batch(const Vigil__Batch *b, int duplicate);

/* A snapshot of every counter. NULL when out of memory; free with
 * server_stats_free(). */
Vigil__StatsReply *server_stats_snapshot(void);
void server_stats_free(Vigil__StatsReply *r);

#endif
