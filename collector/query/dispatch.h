/* The one read path. Every read request of schema/vigil.proto (status,
 * history, hosts, vms, show, SLA explain, alerts, availability) is answered
 * here, from a read-only connection to the store: by the collector's
 * workers for requests that came over nng, and by vigilctl --db in process
 * for the same request it would have sent. The query_* and sla_query_*
 * functions (query.h, sla_query.h) do the work; this picks one and wraps
 * its answer, or its failure, in a reply envelope. */
#ifndef VIGIL_DISPATCH_H
#define VIGIL_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "reader.h"
#include "sla_eval.h"
#include "sla_query.h"
#include "vigil.pb-c.h"

/* What a request is answered from. */
struct query_reader {
	const struct store_reader *store; /* the read-only connection */
	int64_t now_ms;                   /* "now" of the answers; 0: the wall clock at each request */
	size_t max_rows;                  /* history rows in one reply at most (HISTORY_MAX_ROWS over
					   * nng); 0: no limit */
	/* SLA explain. live: the live engine's state, preferred for a VM it
	 * knows (NULL: stored rows only). model: the network to explain with
	 * (NULL: the one the collector last recorded in the database). */
	const struct sla_live_view *live;
	const struct sla_model *model;
};

/* Answers request into *reply: the request's reply message, or an Error
 * reply whose message says what went wrong (MALFORMED for a message that
 * is no read request; the other codes as each query has always answered).
 * 0, or -1 (nothing in *reply) only when out of memory. Free *reply with
 * query_reply_free(). */
int query_dispatch(const struct query_reader *reader, const Vigil__Envelope *request, Vigil__Envelope **reply);

/* Frees what query_dispatch made; NULL is allowed. (A history reply's rows
 * share their names, so it is not protobuf-c's free_unpacked.) */
void query_reply_free(Vigil__Envelope *reply);

#endif
