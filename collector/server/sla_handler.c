/* The collector's answers to the SLA queries (explain, alerts,
 * availability): the query layer's functions, with the live engine's state
 * for explain. */
#include "sla_handler.h"

#include <stdio.h>

#include "clock.h"
#include "log.h"
#include "sla_live.h"
#include "sla_query.h"
#include "wire.h"

static int reply_error(const char *message, uint8_t **reply, size_t *reply_len)
{
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	Vigil__Error e = VIGIL__ERROR__INIT;
	e.code = VIGIL__ERROR__CODE__UNKNOWN;
	e.message = (char *)message;
	env.body_case = VIGIL__ENVELOPE__BODY_ERROR;
	env.error = &e;
	return wire_pack(&env, reply, reply_len);
}

static int handle_explain(sqlite3 *db, const Vigil__SlaExplainQuery *q, Vigil__Envelope *env, char *err,
			  size_t errlen)
{
	/* The live state changes with every batch: held for the answer. */
	const struct sla_engine *engine = sla_live_lock();
	struct sla_live_view view = sla_engine_live_view(engine);
	const struct sla_live_view *live = engine ? &view : NULL;
	struct sla_model stored;
	const struct sla_model *m = engine ? sla_engine_model(engine) : NULL;
	int rc = 0, loaded = 0;
	if (!m) {
		rc = sla_model_from_db(db, &stored, err, errlen);
		loaded = rc == 0;
		m = &stored;
	}
	if (rc == 0)
		rc = sla_query_explain(db, m, live, q->vm, clock_realtime_ms(), &env->sla_explain_reply, err, errlen);
	sla_live_unlock();
	if (loaded)
		sla_model_free(&stored);
	env->body_case = VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_REPLY;
	return rc;
}

int sla_server_handle(sqlite3 *db, const Vigil__Envelope *req, uint8_t **reply, size_t *reply_len)
{
	char err[512];
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	int rc;
	switch (req->body_case) {
	case VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_QUERY:
		rc = handle_explain(db, req->sla_explain_query, &env, err, sizeof(err));
		break;
	case VIGIL__ENVELOPE__BODY_ALERTS_QUERY:
		env.body_case = VIGIL__ENVELOPE__BODY_ALERTS_REPLY;
		rc = sla_query_alerts(db, req->alerts_query, clock_realtime_ms(), &env.alerts_reply, err,
				      sizeof(err));
		break;
	case VIGIL__ENVELOPE__BODY_AVAILABILITY_QUERY:
		env.body_case = VIGIL__ENVELOPE__BODY_AVAILABILITY_REPLY;
		rc = sla_query_availability(db, req->availability_query, clock_realtime_ms(),
					    &env.availability_reply, err, sizeof(err));
		break;
	default:
		snprintf(err, sizeof(err), "message kind %d is not an SLA query", req->body_case);
		rc = -1;
	}
	if (rc < 0) {
		log_info("SLA query answered with an error: %s", err);
		return reply_error(err, reply, reply_len);
	}
	rc = wire_pack(&env, reply, reply_len);
	/* The reply message was malloc'd field by field, like an unpacked one. */
	if (env.body_case == VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_REPLY)
		vigil__sla_explain_reply__free_unpacked(env.sla_explain_reply, NULL);
	else if (env.body_case == VIGIL__ENVELOPE__BODY_ALERTS_REPLY)
		vigil__alerts_reply__free_unpacked(env.alerts_reply, NULL);
	else
		vigil__availability_reply__free_unpacked(env.availability_reply, NULL);
	return rc;
}
