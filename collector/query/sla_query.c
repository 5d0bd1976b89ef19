#include "sla_query.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "history.h"
#include "log.h"
#include "sla_avail.h"
#include "wire.h"

/* How far back explain looks for a VM's last evaluation. */
#define SLA_EXPLAIN_LOOKBACK_MS (30LL * 86400000)

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* ---- the model vigilctl --db explains with ------------------------------------------- */

int sla_model_from_db(sqlite3 *db, struct sla_model *m, char *err, size_t errlen)
{
	struct sla_config c;
	struct bn net;
	sqlite3_stmt *st = NULL;
	char origin[300] = BN_DEFAULT_ORIGIN;
	sla_config_defaults(&c);
	int rc = -1, have = 0;
	if (sqlite3_prepare_v2(db, "SELECT origin, target, violated, host_node, text FROM sla_models "
				   "ORDER BY id DESC LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		snprintf(origin, sizeof(origin), "%s (as recorded by the collector)", (const char *)sqlite3_column_text(st, 0));
		snprintf(c.target, sizeof(c.target), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(c.violated, sizeof(c.violated), "%s", (const char *)sqlite3_column_text(st, 2));
		snprintf(c.host_node, sizeof(c.host_node), "%s", (const char *)sqlite3_column_text(st, 3));
		have = bn_parse(&net, (const char *)sqlite3_column_text(st, 4), origin, err, errlen) == 0;
		if (!have)
			goto out;
	}
	if (!have && bn_load_model(&net, NULL, err, errlen) < 0)
		goto out;
	rc = sla_model_init(m, &net, origin, &c, err, errlen);
	if (rc < 0)
		bn_free(&net);
out:
	sqlite3_finalize(st);
	return rc;
}

/* ---- explain --------------------------------------------------------------------------- */

struct last_row {
	int found;
	char host[WIRE_MAX_HOST + 1], vm[WIRE_MAX_VM_NAME + 1], uuid[40];
	int64_t t_start_ms, t_end_ms;
	double value;
};

static int keep_latest(const struct history_row *r, void *arg)
{
	struct last_row *last = arg;
	if (last->found && r->t_end_ms < last->t_end_ms)
		return 0;
	last->found = 1;
	snprintf(last->host, sizeof(last->host), "%s", r->host);
	snprintf(last->vm, sizeof(last->vm), "%s", r->vm);
	snprintf(last->uuid, sizeof(last->uuid), "%s", r->vm_uuid);
	last->t_start_ms = r->t_start_ms;
	last->t_end_ms = r->t_end_ms;
	last->value = r->value;
	return 0;
}

static int latest(sqlite3 *db, const char *vm, const char *metric, int64_t now_ms, struct last_row *out, char *err,
		  size_t errlen)
{
	struct history_filter f = { .vm = vm, .metric = metric, .tags = "", .since_ms = now_ms - SLA_EXPLAIN_LOOKBACK_MS,
				    .until_ms = now_ms + 86400000 };
	memset(out, 0, sizeof(*out));
	return history_scan(db, &f, keep_latest, out, err, errlen) < 0 ? -1 : 0;
}

static void node_metric(const struct bn_node *n, char *out, size_t len)
{
	size_t k = (size_t)snprintf(out, len, "sla.");
	for (const char *s = n->name; *s && k + 1 < len; s++)
		out[k++] = (char)tolower((unsigned char)*s);
	out[k] = '\0';
}

/* Evidence from the rows the last evaluation wrote: they all end when the
 * sla.p_violation row does. */
static int stored_evidence(sqlite3 *db, const struct sla_model *m, const char *vm, int64_t now_ms, int *evidence,
			   struct last_row *p_row, char *err, size_t errlen)
{
	if (latest(db, vm, "sla.p_violation", now_ms, p_row, err, errlen) < 0)
		return -1;
	if (!p_row->found) {
		snprintf(err, errlen, "no SLA evaluation of vm %s is stored from the last 30 days "
			 "(the collector evaluates a VM with each of its batches)", vm);
		return -1;
	}
	for (int i = 0; i < m->net.n_nodes; i++) {
		char metric[BN_NAME_MAX + 8];
		struct last_row r;
		evidence[i] = -1;
		if (i == m->target)
			continue;
		node_metric(&m->net.node[i], metric, sizeof(metric));
		if (latest(db, p_row->uuid, metric, now_ms, &r, err, errlen) < 0)
			return -1;
		int state = (int)lround(r.value);
		if (r.found && r.t_end_ms == p_row->t_end_ms && state >= 0 && state < m->net.node[i].n_states)
			evidence[i] = state;
	}
	return 0;
}

static Vigil__SlaAlert *alert_from_row(sqlite3_stmt *st);

static int open_alert(sqlite3 *db, const char *uuid, Vigil__SlaAlert **out)
{
	sqlite3_stmt *st;
	*out = NULL;
	if (sqlite3_prepare_v2(db, "SELECT id, host, vm, vm_uuid, t_start, t_end, peak, cause_node, cause_state, "
				   "cause_p, cause, evidence FROM sla_alerts WHERE vm_uuid = ?1 AND t_end IS NULL "
				   "ORDER BY id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = alert_from_row(st);
	sqlite3_finalize(st);
	return 0;
}

static Vigil__SlaEvidence *evidence_entry(const struct sla_model *m, int node, int state,
					  const struct sla_vm_view *view)
{
	Vigil__SlaEvidence *ev = malloc(sizeof(*ev));
	if (!ev)
		return NULL;
	vigil__sla_evidence__init(ev);
	const struct bn_node *n = &m->net.node[node];
	ev->node = strdup(n->name);
	ev->observed = state >= 0;
	ev->state = dup_or_empty(state >= 0 ? n->states[state] : "");
	if (view && view->driver[node].rule >= 0) {
		ev->metric = dup_or_empty(view->driver[node].metric);
		ev->tags = dup_or_empty(view->driver[node].tags);
		ev->value = view->driver[node].value;
		ev->threshold = view->driver[node].threshold;
	}
	return ev;
}

static int fill_explanation(Vigil__SlaExplainReply *r, const struct sla_model *m, const int *evidence,
			    const struct sla_vm_view *view, char *err, size_t errlen)
{
	if (sla_p_violation(m, evidence, &r->p_violation, err, errlen) < 0)
		return -1;
	r->evidence = calloc((size_t)m->net.n_nodes, sizeof(*r->evidence));
	r->causes = calloc((size_t)m->net.n_nodes, sizeof(*r->causes));
	if (!r->evidence || !r->causes)
		goto oom;
	for (int i = 0; i < m->net.n_nodes; i++) {
		if (i == m->target)
			continue;
		if (!(r->evidence[r->n_evidence] = evidence_entry(m, i, evidence[i], view)))
			goto oom;
		r->n_evidence++;
	}
	struct sla_cause causes[BN_MAX_NODES];
	int n = sla_rank_causes(m, evidence, causes);
	for (int k = 0; k < n; k++) {
		Vigil__SlaCause *c = malloc(sizeof(*c));
		if (!c)
			goto oom;
		vigil__sla_cause__init(c);
		r->causes[r->n_causes++] = c;
		const struct bn_node *node = &m->net.node[causes[k].node];
		c->node = strdup(node->name);
		c->state = strdup(node->states[causes[k].state]);
		c->healthy_state = strdup(node->states[0]);
		c->p_violation_if_healthy = causes[k].p_if_healthy;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int sla_query_explain(sqlite3 *db, const struct sla_model *m, const struct sla_live_view *live, const char *vm,
		      int64_t now_ms, Vigil__SlaExplainReply **out, char *err, size_t errlen)
{
	Vigil__SlaExplainReply *r = malloc(sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	vigil__sla_explain_reply__init(r);
	int evidence[BN_MAX_NODES];
	struct sla_vm_view view;
	const struct sla_vm_view *v = NULL;
	struct last_row p_row;
	if (live && live->view(live->ctx, vm, &view) == 0) {
		v = &view;
		memcpy(evidence, view.evidence, sizeof(int) * (size_t)m->net.n_nodes);
		r->host = strdup(view.host);
		r->vm = strdup(view.name);
		r->uuid = strdup(view.uuid);
		r->at_ms = view.at_ms;
		r->live = 1;
	} else {
		if (stored_evidence(db, m, vm, now_ms, evidence, &p_row, err, errlen) < 0)
			goto fail;
		r->host = strdup(p_row.host);
		r->vm = strdup(p_row.vm);
		r->uuid = strdup(p_row.uuid);
		r->at_ms = p_row.t_end_ms;
	}
	char target[2 * BN_NAME_MAX + 2];
	snprintf(target, sizeof(target), "%s=%s", m->net.node[m->target].name,
		 m->net.node[m->target].states[m->violated]);
	r->target = strdup(target);
	r->model = strdup(m->origin);
	if (fill_explanation(r, m, evidence, v, err, errlen) < 0 || open_alert(db, r->uuid, &r->open_alert) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	vigil__sla_explain_reply__free_unpacked(r, NULL);
	return -1;
}

/* ---- alerts ---------------------------------------------------------------------------- */

static const char alerts_sql[] =
	"SELECT id, host, vm, vm_uuid, t_start, t_end, peak, cause_node, cause_state, cause_p, cause, evidence "
	"FROM sla_alerts WHERE (?1 = 0 OR t_end IS NULL) AND (?2 = 0 OR coalesce(t_end, ?3) >= ?2) "
	"AND (?4 = '' OR vm = ?4 OR vm_uuid = ?4) ORDER BY t_start, id";

static Vigil__SlaAlert *alert_from_row(sqlite3_stmt *st)
{
	Vigil__SlaAlert *a = malloc(sizeof(*a));
	if (!a)
		return NULL;
	vigil__sla_alert__init(a);
	const unsigned char *t;
	a->id = (uint64_t)sqlite3_column_int64(st, 0);
	a->host = dup_or_empty((t = sqlite3_column_text(st, 1)) ? (const char *)t : "");
	a->vm = dup_or_empty((t = sqlite3_column_text(st, 2)) ? (const char *)t : "");
	a->uuid = dup_or_empty((t = sqlite3_column_text(st, 3)) ? (const char *)t : "");
	a->t_start_ms = sqlite3_column_int64(st, 4);
	a->t_end_ms = sqlite3_column_type(st, 5) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 5);
	a->peak = sqlite3_column_double(st, 6);
	a->cause_node = dup_or_empty((t = sqlite3_column_text(st, 7)) ? (const char *)t : "");
	a->cause_state = dup_or_empty((t = sqlite3_column_text(st, 8)) ? (const char *)t : "");
	a->cause_p = sqlite3_column_double(st, 9);
	a->cause = dup_or_empty((t = sqlite3_column_text(st, 10)) ? (const char *)t : "");
	a->evidence = dup_or_empty((t = sqlite3_column_text(st, 11)) ? (const char *)t : "");
	return a;
}

int sla_query_alerts(sqlite3 *db, const Vigil__AlertsQuery *q, int64_t now_ms, Vigil__AlertsReply **out, char *err,
		     size_t errlen)
{
	sqlite3_stmt *st;
	Vigil__AlertsReply *r = malloc(sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	vigil__alerts_reply__init(r);
	if (sqlite3_prepare_v2(db, alerts_sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "alerts query: %s", sqlite3_errmsg(db));
		free(r);
		return -1;
	}
	sqlite3_bind_int(st, 1, q->open_only);
	sqlite3_bind_int64(st, 2, q->since_ms);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_text(st, 4, q->vm ? q->vm : "", -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		Vigil__SlaAlert *a = alert_from_row(st);
		Vigil__SlaAlert **grown = a ? realloc(r->alerts, (r->n_alerts + 1) * sizeof(*grown)) : NULL;
		if (!grown) {
			if (a)
				vigil__sla_alert__free_unpacked(a, NULL);
			rc = SQLITE_NOMEM;
			break;
		}
		r->alerts = grown;
		r->alerts[r->n_alerts++] = a;
	}
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "alerts query: %s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		vigil__alerts_reply__free_unpacked(r, NULL);
		return -1;
	}
	*out = r;
	return 0;
}

/* ---- availability ------------------------------------------------------------------------ */

struct span_list {
	struct sla_span *span;
	size_t n, cap;
	int only_up; /* keep rows whose value is 0 (UP) only */
	struct last_row first, last;
	int failed;
};

static int collect_spans(const struct history_row *r, void *arg)
{
	struct span_list *l = arg;
	if (!l->first.found || r->t_start_ms < l->first.t_start_ms)
		keep_latest(r, &l->first), l->first.t_start_ms = r->t_start_ms;
	if (!l->last.found || r->t_end_ms >= l->last.t_end_ms)
		keep_latest(r, &l->last);
	if (l->only_up && r->value != 0)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		struct sla_span *grown = realloc(l->span, l->cap * sizeof(*grown));
		if (!grown) {
			l->failed = 1;
			return 1;
		}
		l->span = grown;
	}
	l->span[l->n++] = (struct sla_span){ r->t_start_ms, r->t_end_ms };
	return 0;
}

/* How much of [start, end] the host's heartbeat covers, 0..1. */
static double heartbeat_share(const struct span_list *hb, int64_t start, int64_t end)
{
	int64_t covered = 0;
	for (size_t i = 0; i < hb->n; i++) {
		int64_t s = hb->span[i].start_ms > start ? hb->span[i].start_ms : start;
		int64_t e = hb->span[i].end_ms < end ? hb->span[i].end_ms : end;
		if (e > s)
			covered += e - s;
	}
	return end > start ? (double)covered / (double)(end - start) : 1.0;
}

static int fill_availability(Vigil__AvailabilityReply *r, const struct sla_availability *a,
			     const struct span_list *heartbeat)
{
	r->window_start_ms = a->window_start_ms;
	r->window_end_ms = a->window_end_ms;
	r->uptime_ms = a->uptime_ms;
	r->downtime_ms = a->downtime_ms;
	r->uptime_pct = a->uptime_pct;
	r->nines = isinf(a->nines) ? 0 : a->nines;
	r->mtbf_ms = a->mtbf_ms;
	r->mttr_ms = a->mttr_ms;
	r->target_pct = a->target_pct;
	r->allowed_downtime_ms = a->allowed_downtime_ms;
	r->target_met = a->target_met;
	r->outages = calloc(a->n_outages ? a->n_outages : 1, sizeof(*r->outages));
	if (!r->outages)
		return -1;
	for (size_t i = 0; i < a->n_outages; i++) {
		Vigil__Outage *o = malloc(sizeof(*o));
		if (!o)
			return -1;
		vigil__outage__init(o);
		r->outages[r->n_outages++] = o;
		o->t_start_ms = a->outages[i].start_ms;
		o->t_end_ms = a->outages[i].end_ms;
		o->cause = strdup(heartbeat_share(heartbeat, o->t_start_ms, o->t_end_ms) < 0.5
					  ? "host silent (no heartbeat)"
					  : "VM not running or not reported by its host");
	}
	return 0;
}

int sla_query_availability(sqlite3 *db, const Vigil__AvailabilityQuery *q, int64_t now_ms,
			   Vigil__AvailabilityReply **out, char *err, size_t errlen)
{
	struct span_list up = { .only_up = 1 }, heartbeat = { 0 };
	struct history_filter f = { .vm = q->vm, .metric = "sla.host", .tags = "", .since_ms = now_ms - q->window_ms,
				    .until_ms = now_ms };
	Vigil__AvailabilityReply *r = NULL;
	struct sla_availability a = { 0 };
	int rc = -1;
	if (history_scan(db, &f, collect_spans, &up, err, errlen) < 0)
		goto out;
	if (up.failed || !up.last.found) {
		snprintf(err, errlen, up.failed ? "out of memory"
						: "vm %s has no sla.host intervals in the window (they are written "
						  "by the collector's SLA checks for each evaluation)",
			 q->vm);
		goto out;
	}
	/* The host's own entry carries its heartbeat; it is named after the host. */
	struct history_filter hf = { .host = up.last.host, .vm = up.last.host, .metric = "host.up", .tags = "",
				     .since_ms = f.since_ms, .until_ms = now_ms };
	if (history_scan(db, &hf, collect_spans, &heartbeat, err, errlen) < 0)
		goto out;
	int64_t start = up.first.t_start_ms > f.since_ms ? up.first.t_start_ms : f.since_ms;
	int64_t end = up.last.t_end_ms < now_ms ? up.last.t_end_ms : now_ms;
	if (sla_availability_compute(up.span, up.n, start, end, q->target_pct, &a) < 0 || !(r = malloc(sizeof(*r)))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	vigil__availability_reply__init(r);
	r->host = strdup(up.last.host);
	r->vm = strdup(up.last.vm);
	r->uuid = strdup(up.last.uuid);
	r->requested_window_ms = q->window_ms;
	if (fill_availability(r, &a, &heartbeat) < 0) {
		snprintf(err, errlen, "out of memory");
		vigil__availability_reply__free_unpacked(r, NULL);
		goto out;
	}
	*out = r;
	rc = 0;
out:
	sla_availability_free(&a);
	free(up.span);
	free(heartbeat.span);
	return rc;
}
