/* The SLA read side: `vigilctl sla explain`, `alerts` and `availability`,
 * answered by the collector over nng and by vigilctl --db from the file.
 * Stored history is read only through history_scan(). Replies are
 * malloc'd protobuf messages: free them with protobuf-c's free_unpacked
 * and a NULL allocator (or the *_free helpers). */
#ifndef VIGIL_SLA_QUERY_H
#define VIGIL_SLA_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "sla_eval.h"
#include "vigil.pb-c.h"

/* The model the collector last recorded in the database (sla_models), or
 * the built-in default. -1 with err when the stored text does not parse. */
int sla_model_from_db(sqlite3 *db, struct sla_model *m, char *err, size_t errlen);

/* The live engine's state, for a caller that runs one (the collector):
 * view fills out for a VM the engine knows and returns 0, else -1. What it
 * fills points into the engine, which changes with every batch: when lock
 * is set, a reader holds it (lock, then unlock) from before the first view
 * until it is done with what the views gave. */
struct sla_live_view {
	int (*view)(const void *ctx, const char *vm, struct sla_vm_view *out);
	const void *ctx;
	void (*lock)(const void *ctx);   /* NULL: nothing changes the state meanwhile */
	void (*unlock)(const void *ctx);
};

/* live (may be NULL) answers from the engine's state when it knows the VM;
 * otherwise the latest stored sla.* rows are the evidence. */
int sla_query_explain(sqlite3 *db, const struct sla_model *m, const struct sla_live_view *live, const char *vm,
		      int64_t now_ms, Vigil__SlaExplainReply **out, char *err, size_t errlen);

int sla_query_alerts(sqlite3 *db, const Vigil__AlertsQuery *q, int64_t now_ms, Vigil__AlertsReply **out, char *err,
		     size_t errlen);

/* From the VM's sla.host intervals (UP/DOWN, written by the live checks)
 * and its host's heartbeat (host.up), over the window ending at the last
 * evaluation. */
int sla_query_availability(sqlite3 *db, const Vigil__AvailabilityQuery *q, int64_t now_ms,
			   Vigil__AvailabilityReply **out, char *err, size_t errlen);

#endif
