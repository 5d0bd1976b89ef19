#include "dispatch.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "query.h"
#include "sla_query.h"

/* Strings of a request built in process may be NULL; on the wire they are
 * never absent, only empty. */
static const char *text_or_empty(const char *s)
{
	return s ? s : "";
}

/* The model to explain with, and under the live engine's lock when there
 * is one: the views it hands out point into state each batch changes. */
static int answer_explain(const struct query_reader *r, sqlite3 *db, int64_t now_ms, const Vigil__SlaExplainQuery *q,
			  Vigil__SlaExplainReply **out, char *err, size_t errlen)
{
	struct sla_model stored;
	const struct sla_model *m = r->model;
	if (!m) {
		if (sla_model_from_db(db, &stored, err, errlen) < 0)
			return -1;
		m = &stored;
	}
	const struct sla_live_view *live = r->live;
	if (live && live->lock)
		live->lock(live->ctx);
	int rc = sla_query_explain(db, m, live, text_or_empty(q->vm), now_ms, out, err, errlen);
	if (live && live->unlock)
		live->unlock(live->ctx);
	if (m == &stored)
		sla_model_free(&stored);
	return rc;
}

/* Runs the query the request names. 0 with env's reply set; -1 with a
 * message in err and *code; -2 when the request is no read request. */
static int answer(const struct query_reader *r, const Vigil__Envelope *req, Vigil__Envelope *env,
		  Vigil__Error__Code *code, char *err, size_t errlen)
{
	sqlite3 *db = store_reader_db(r->store);
	int64_t now = r->now_ms ? r->now_ms : clock_realtime_ms();
	/* The SLA queries have always answered a failure as UNKNOWN, the
	 * others as STORAGE. */
	*code = VIGIL__ERROR__CODE__STORAGE;
	switch (req->body_case) {
	case VIGIL__ENVELOPE__BODY_STATUS_QUERY:
		env->body_case = VIGIL__ENVELOPE__BODY_STATUS_REPLY;
		return query_status(db, now, &env->status_reply, err, errlen);
	case VIGIL__ENVELOPE__BODY_HISTORY_QUERY:
		env->body_case = VIGIL__ENVELOPE__BODY_HISTORY_REPLY;
		return query_history(db, now, req->history_query, r->max_rows, &env->history_reply, err, errlen);
	case VIGIL__ENVELOPE__BODY_HOSTS_QUERY:
		env->body_case = VIGIL__ENVELOPE__BODY_HOSTS_REPLY;
		return query_hosts(db, now, &env->hosts_reply, err, errlen);
	case VIGIL__ENVELOPE__BODY_VMS_QUERY:
		env->body_case = VIGIL__ENVELOPE__BODY_VMS_REPLY;
		return query_vms(db, now, req->vms_query->host, &env->vms_reply, err, errlen);
	case VIGIL__ENVELOPE__BODY_SHOW_QUERY:
		env->body_case = VIGIL__ENVELOPE__BODY_SHOW_REPLY;
		return query_show(db, now, text_or_empty(req->show_query->vm), &env->show_reply, err, errlen);
	case VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_QUERY:
		*code = VIGIL__ERROR__CODE__UNKNOWN;
		env->body_case = VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_REPLY;
		return answer_explain(r, db, now, req->sla_explain_query, &env->sla_explain_reply, err, errlen);
	case VIGIL__ENVELOPE__BODY_ALERTS_QUERY:
		*code = VIGIL__ERROR__CODE__UNKNOWN;
		env->body_case = VIGIL__ENVELOPE__BODY_ALERTS_REPLY;
		return sla_query_alerts(db, req->alerts_query, now, &env->alerts_reply, err, errlen);
	case VIGIL__ENVELOPE__BODY_AVAILABILITY_QUERY:
		*code = VIGIL__ERROR__CODE__UNKNOWN;
		env->body_case = VIGIL__ENVELOPE__BODY_AVAILABILITY_REPLY;
		return sla_query_availability(db, req->availability_query, now, &env->availability_reply, err, errlen);
	default:
		*code = VIGIL__ERROR__CODE__MALFORMED;
		snprintf(err, errlen, "message kind %d is not a request the collector serves", req->body_case);
		return -2;
	}
}

static int error_reply(Vigil__Envelope *env, Vigil__Error__Code code, const char *message)
{
	Vigil__Error *e = malloc(sizeof(*e));
	if (!e)
		return -1;
	vigil__error__init(e);
	e->code = code;
	if (!(e->message = strdup(message))) {
		free(e);
		return -1;
	}
	env->body_case = VIGIL__ENVELOPE__BODY_ERROR;
	env->error = e;
	return 0;
}

int query_dispatch(const struct query_reader *reader, const Vigil__Envelope *request, Vigil__Envelope **reply)
{
	assert(reader && reader->store && request && reply);
	char err[512] = "";
	Vigil__Error__Code code;
	Vigil__Envelope *env = malloc(sizeof(*env));
	if (!env)
		return -1;
	vigil__envelope__init(env);
	if (answer(reader, request, env, &code, err, sizeof(err)) < 0) {
		/* A failed query leaves no reply message behind. */
		env->body_case = VIGIL__ENVELOPE__BODY__NOT_SET;
		if (error_reply(env, code, err[0] ? err : "the query failed") < 0) {
			free(env);
			return -1;
		}
	}
	*reply = env;
	return 0;
}

void query_reply_free(Vigil__Envelope *reply)
{
	if (!reply)
		return;
	if (reply->body_case == VIGIL__ENVELOPE__BODY_HISTORY_REPLY) {
		history_reply_free(reply->history_reply);
		free(reply);
		return;
	}
	/* Every other reply was malloc'd field by field, like an unpacked one. */
	vigil__envelope__free_unpacked(reply, NULL);
}
