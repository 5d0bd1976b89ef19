#include "sla_live.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "sla_hook.h"
#include "wire.h"

/* The tick's own period: silence is judged in whole intervals anyway. */
#define SLA_TICK_PERIOD_MS 1000
/* A VM that stays silent is evaluated (its HOST DOWN rows extended) once
 * per this period, or per interval when that is longer: a silent host with
 * thousands of VMs must not cost an evaluation per VM per second. */
#define SLA_SILENT_PERIOD_MS 10000
/* Used for a VM known only from an open alert until its next batch. */
#define SLA_FALLBACK_INTERVAL_MS 10000

struct sla_alert_state {
	int open;
	int64_t id;
	int64_t t_start_ms;
	double peak;
	char cause_node[BN_NAME_MAX];
	char cause_state[BN_NAME_MAX];
	double cause_p;
	char cause[640];
	char evidence[512];
};

struct sla_vm_driver {
	signed char rule;
	double value, threshold;
	char tags[64];
};

struct sla_vm {
	char uuid[40];
	char name[WIRE_MAX_VM_NAME + 1];
	char host[WIRE_MAX_HOST + 1];
	const struct sla_ruleset *rules;
	struct sla_ruleset *own_rules; /* when the VM has overrides of its own */
	signed char level[SLA_MAX_RULES];
	int evidence[BN_MAX_NODES];
	struct sla_vm_driver drv[BN_MAX_NODES];
	double p;
	int evaluated;
	int64_t last_t_end_ms;     /* end of the last evaluated interval */
	uint64_t last_seq;         /* the last evaluated batch of host */
	int64_t last_seen_wall_ms; /* collector clock when a batch last listed it */
	uint32_t interval_ms;
	int stale;                 /* HOST DOWN set by the tick */
	char host_reason[320];      /* why HOST is DOWN */
	int above, below;          /* consecutive evaluations past the levels */
	int64_t run_start_ms, clear_start_ms;
	struct sla_alert_state alert;
};

struct sla_engine {
	struct sla_config cfg;
	struct sla_model model;
	struct sla_ruleset global;
	struct sla_ruleset *host_rules; /* one per cfg.hosts entry */
	char metric_name[BN_MAX_NODES][BN_NAME_MAX + 8];
	struct sla_vm **slot;
	size_t cap, count;
	struct sla_hooks hooks;
	int64_t last_tick_ms;
	/* Attached only: the last alert id given out. The engine numbers its
	 * alerts itself, so an alert's row is written asynchronously, in the
	 * group commit of the readings that opened it, and its id is known
	 * at once for the log and the hook. It is the only writer of
	 * sla_alerts, and starts from the largest id stored. */
	int64_t last_alert_id;
	/* Readings and alert rows not yet handed to the store (attached
	 * only), in the order they were made. */
	struct store_req *readings, **readings_tail;
};

/* ---- the VM table: open addressing on the UUID ---------------------------- */

static size_t uuid_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

static struct sla_vm **vm_slot(const struct sla_engine *e, const char *uuid)
{
	size_t i = uuid_hash(uuid) & (e->cap - 1);
	while (e->slot[i] && strcmp(e->slot[i]->uuid, uuid) != 0)
		i = (i + 1) & (e->cap - 1);
	return &e->slot[i];
}

static int table_grow(struct sla_engine *e)
{
	size_t old_cap = e->cap;
	struct sla_vm **old = e->slot;
	e->cap = old_cap ? old_cap * 2 : 64;
	e->slot = calloc(e->cap, sizeof(*e->slot));
	if (!e->slot) {
		e->slot = old;
		e->cap = old_cap;
		return -1;
	}
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			*vm_slot(e, old[i]->uuid) = old[i];
	free(old);
	return 0;
}

static void vm_free(struct sla_vm *v)
{
	if (v)
		free(v->own_rules);
	free(v);
}

/* Removes v; the entries after it in its probe run are put back so
 * lookups still find them. */
static void table_remove(struct sla_engine *e, struct sla_vm *v)
{
	struct sla_vm **at = vm_slot(e, v->uuid);
	size_t i = (size_t)(at - e->slot);
	e->slot[i] = NULL;
	e->count--;
	for (size_t j = (i + 1) & (e->cap - 1); e->slot[j]; j = (j + 1) & (e->cap - 1)) {
		struct sla_vm *moved = e->slot[j];
		e->slot[j] = NULL;
		*vm_slot(e, moved->uuid) = moved;
	}
	vm_free(v);
}

static const struct sla_ruleset *rules_for(struct sla_engine *e, struct sla_vm *v)
{
	for (int i = 0; i < e->cfg.n_vms; i++) {
		if (strcmp(e->cfg.vms[i].name, v->name) != 0 && strcmp(e->cfg.vms[i].name, v->uuid) != 0)
			continue;
		struct sla_rule rules[SLA_MAX_RULES];
		char err[300];
		int n = sla_config_rules_for(&e->cfg, v->host, v->name, v->uuid, rules);
		v->own_rules = malloc(sizeof(*v->own_rules));
		if (v->own_rules && sla_ruleset_compile(v->own_rules, &e->model, rules, n, err, sizeof(err)) == 0)
			return v->own_rules;
		/* Checked at start-up, so only memory can fail here. */
		log_error("vm %s: its own thresholds cannot be used (%s); the host's apply",
			  v->name, v->own_rules ? err : "out of memory");
		free(v->own_rules);
		v->own_rules = NULL;
		break;
	}
	for (int i = 0; i < e->cfg.n_hosts; i++)
		if (strcmp(e->cfg.hosts[i].name, v->host) == 0)
			return &e->host_rules[i];
	return &e->global;
}

static struct sla_vm *vm_get(struct sla_engine *e, const char *uuid, const char *name, const char *host)
{
	if ((e->count + 1) * 2 > e->cap && table_grow(e) < 0)
		return NULL;
	struct sla_vm **at = vm_slot(e, uuid);
	struct sla_vm *v = *at;
	if (v) {
		/* A renamed VM or one that moved host keeps its state; its
		 * rules follow its new name and host. */
		if (strcmp(v->name, name) != 0 || strcmp(v->host, host) != 0) {
			snprintf(v->name, sizeof(v->name), "%s", name);
			snprintf(v->host, sizeof(v->host), "%s", host);
			free(v->own_rules);
			v->own_rules = NULL;
			v->rules = rules_for(e, v);
			v->last_seq = 0; /* sequence numbers are per host */
		}
		return v;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	snprintf(v->uuid, sizeof(v->uuid), "%s", uuid);
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->host, sizeof(v->host), "%s", host);
	memset(v->level, -1, sizeof(v->level));
	for (int i = 0; i < BN_MAX_NODES; i++) {
		v->evidence[i] = -1;
		v->drv[i].rule = -1;
	}
	v->rules = rules_for(e, v);
	*at = v;
	e->count++;
	return v;
}

/* ---- set-up ------------------------------------------------------------------ */

static int compile_all(struct sla_engine *e, char *err, size_t errlen)
{
	struct sla_rule rules[SLA_MAX_RULES];
	char why[300];
	int n = sla_config_rules_for(&e->cfg, "", "", "", rules);
	if (sla_ruleset_compile(&e->global, &e->model, rules, n, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "sla.thresholds: %s", why);
		return -1;
	}
	e->host_rules = calloc((size_t)(e->cfg.n_hosts ? e->cfg.n_hosts : 1), sizeof(*e->host_rules));
	if (!e->host_rules) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < e->cfg.n_hosts; i++) {
		n = sla_config_rules_for(&e->cfg, e->cfg.hosts[i].name, "", "", rules);
		if (sla_ruleset_compile(&e->host_rules[i], &e->model, rules, n, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "sla.hosts (%s): %s", e->cfg.hosts[i].name, why);
			return -1;
		}
	}
	/* VM overrides are compiled when the VM appears; check them now so a
	 * mistake is a start-up error, not a log line later. */
	for (int i = 0; i < e->cfg.n_vms; i++) {
		struct sla_ruleset check;
		n = sla_config_rules_for(&e->cfg, "", e->cfg.vms[i].name, e->cfg.vms[i].name, rules);
		if (sla_ruleset_compile(&check, &e->model, rules, n, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "sla.vms (%s): %s", e->cfg.vms[i].name, why);
			return -1;
		}
	}
	return 0;
}

static void metric_names(struct sla_engine *e)
{
	for (int i = 0; i < e->model.net.n_nodes; i++) {
		char *out = e->metric_name[i];
		size_t k = (size_t)snprintf(out, sizeof(e->metric_name[i]), "sla.");
		for (const char *s = e->model.net.node[i].name; *s && k + 1 < sizeof(e->metric_name[i]); s++)
			out[k++] = (char)tolower((unsigned char)*s);
		out[k] = '\0';
	}
}

int sla_engine_new(struct sla_config *cfg, struct sla_engine **out, char *err, size_t errlen)
{
	struct sla_engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		sla_config_free(cfg);
		return -1;
	}
	e->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	struct bn net;
	const char *origin = e->cfg.model[0] ? e->cfg.model : BN_DEFAULT_ORIGIN;
	if (bn_load_model(&net, e->cfg.model, err, errlen) < 0)
		goto fail;
	if (sla_model_init(&e->model, &net, origin, &e->cfg, err, errlen) < 0) {
		bn_free(&net);
		goto fail;
	}
	if (compile_all(e, err, errlen) < 0)
		goto fail;
	metric_names(e);
	sla_hooks_init(&e->hooks, e->cfg.hook, e->cfg.hook_timeout_s * 1000);
	*out = e;
	return 0;
fail:
	sla_engine_free(e);
	return -1;
}

void sla_engine_free(struct sla_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->cap; i++)
		vm_free(e->slot[i]);
	free(e->slot);
	for (struct store_req *r = e->readings; r;) {
		struct store_req *next = r->next;
		free(r->arg);
		r = next;
	}
	free(e->host_rules);
	sla_model_free(&e->model);
	sla_config_free(&e->cfg);
	free(e);
}

const struct sla_model *sla_engine_model(const struct sla_engine *e)
{
	return &e->model;
}

const struct sla_config *sla_engine_config(const struct sla_engine *e)
{
	return &e->cfg;
}

/* Records the network in sla_models when it differs from the last one, so
 * vigilctl --db explains with what the collector used. */
static int record_model(struct sla_engine *e, struct store *st, int64_t now_ms, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem || bn_write(&e->model.net, mem, NULL) < 0) {
		if (mem)
			fclose(mem);
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fclose(mem);
	struct sla_model_row m = {
		.loaded_at_ms = now_ms,
		.origin = e->model.origin,
		.target = e->cfg.target,
		.violated = e->cfg.violated,
		.host_node = e->cfg.host_node,
		.text = text,
		.text_len = len,
	};
	int rc = store_sla_model(st, &m, err, errlen);
	free(text);
	return rc;
}

static const char *column_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}

/* Open alerts survive a collector restart: they are picked up again and
 * close by the usual rule. Alert ids continue from the largest stored. db
 * is the store's read-only connection, once the store has committed
 * everything submitted before. */
static int reload_open_alerts(struct sla_engine *e, sqlite3 *db, int64_t now_ms, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM sla_alerts", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "reading the last alert id: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	e->last_alert_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db,
			       "SELECT id, host, vm, vm_uuid, t_start, peak, cause_node, cause_state, cause_p, cause, "
			       "evidence FROM sla_alerts WHERE t_end IS NULL",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "reading open alerts: %s", sqlite3_errmsg(db));
		return -1;
	}
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct sla_vm *v = vm_get(e, column_text(st, 3), column_text(st, 2), column_text(st, 1));
		if (!v)
			break;
		struct sla_alert_state *a = &v->alert;
		a->open = 1;
		a->id = sqlite3_column_int64(st, 0);
		a->t_start_ms = sqlite3_column_int64(st, 4);
		a->peak = sqlite3_column_double(st, 5);
		snprintf(a->cause_node, sizeof(a->cause_node), "%s", column_text(st, 6));
		snprintf(a->cause_state, sizeof(a->cause_state), "%s", column_text(st, 7));
		a->cause_p = sqlite3_column_double(st, 8);
		snprintf(a->cause, sizeof(a->cause), "%s", column_text(st, 9));
		snprintf(a->evidence, sizeof(a->evidence), "%s", column_text(st, 10));
		v->last_seen_wall_ms = now_ms;
		v->interval_ms = SLA_FALLBACK_INTERVAL_MS;
		n++;
	}
	sqlite3_finalize(st);
	if (n)
		log_info("%d open SLA alerts picked up again", n);
	return 0;
}

int sla_engine_attach(struct sla_engine *e, struct store *st, int64_t now_ms, char *err, size_t errlen)
{
	/* Recording the model returns once it is committed, and with it
	 * everything submitted before: the open alerts read next are current. */
	if (record_model(e, st, now_ms, err, errlen) < 0 || reload_open_alerts(e, store_db(st), now_ms, err, errlen) < 0)
		return -1;
	e->readings = NULL;
	e->readings_tail = &e->readings;
	log_info("SLA checks on: model %s, %d thresholds, alert at P(%s=%s) >= %.2f for %d evaluations%s%s",
		 e->model.origin, e->global.n, e->cfg.target, e->cfg.violated, e->cfg.alert_level, e->cfg.alert_after,
		 e->hooks.command ? ", action hook " : "", e->hooks.command ? e->hooks.command : "");
	return 0;
}

/* ---- storing what an evaluation found ----------------------------------------- */

/* One evaluation's readings on their way to the store: the request and
 * everything it points to, in one allocation that frees itself when the
 * commit holding it is done. */
struct sla_reading {
	struct store_req req;
	Vigil__Sample samples[BN_MAX_NODES + 1];
	Vigil__Sample *ptrs[BN_MAX_NODES + 1];
	char metric[BN_MAX_NODES + 1][BN_NAME_MAX + 8];
	char uuid[40];
	char name[WIRE_MAX_VM_NAME + 1];
};

static void reading_done(struct store_req *r, enum store_result res, const char *err)
{
	struct sla_reading *rd = r->arg;
	if (res == STORE_FAILED)
		log_error("SLA evaluation of vm %s not stored: %s", rd->name, err ? err : "unknown error");
	free(rd);
}

static void reading_add(struct sla_reading *rd, const char *metric, double value)
{
	size_t n = rd->req.n_samples;
	snprintf(rd->metric[n], sizeof(rd->metric[n]), "%s", metric);
	vigil__sample__init(&rd->samples[n]);
	rd->samples[n].metric = rd->metric[n];
	rd->samples[n].value = value;
	rd->ptrs[n] = &rd->samples[n];
	rd->req.n_samples = n + 1;
}

/* sla.<node> for every observed evidence node and sla.p_violation, as one
 * interval [t_start, t_end], queued for sla_engine_take_readings. Only an
 * engine attached to a store keeps them. */
static void store_evaluation(struct sla_engine *e, const struct sla_vm *v, int64_t t_start, int64_t t_end,
			     uint32_t interval_ms)
{
	if (!e->readings_tail)
		return;
	struct sla_reading *rd = calloc(1, sizeof(*rd));
	if (!rd) {
		log_error("SLA evaluation of vm %s not stored: out of memory", v->name);
		return;
	}
	snprintf(rd->uuid, sizeof(rd->uuid), "%s", v->uuid);
	snprintf(rd->name, sizeof(rd->name), "%s", v->name);
	for (int i = 0; i < e->model.net.n_nodes; i++)
		if (i != e->model.target && v->evidence[i] >= 0)
			reading_add(rd, e->metric_name[i], v->evidence[i]);
	reading_add(rd, "sla.p_violation", v->p);
	rd->req.kind = STORE_REQ_DERIVED;
	rd->req.vm_uuid = rd->uuid;
	rd->req.samples = rd->ptrs;
	rd->req.t_start_ms = t_start;
	rd->req.t_end_ms = t_end;
	rd->req.interval_ms = interval_ms;
	rd->req.done = reading_done;
	rd->req.arg = rd;
	*e->readings_tail = &rd->req;
	e->readings_tail = &rd->req.next;
}

struct store_req *sla_engine_take_readings(struct sla_engine *e)
{
	if (!e->readings_tail)
		return NULL;
	struct store_req *chain = e->readings;
	e->readings = NULL;
	e->readings_tail = &e->readings;
	return chain;
}

void sla_submit_readings(struct store *st, struct store_req *chain)
{
	while (chain) {
		struct store_req *next = chain->next;
		store_submit(st, chain);
		chain = next;
	}
}

/* ---- alerts -------------------------------------------------------------------- */

static void describe_evidence(const struct sla_engine *e, const struct sla_vm *v, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < e->model.net.n_nodes && used < len; i++) {
		if (i == e->model.target)
			continue;
		const struct bn_node *n = &e->model.net.node[i];
		used += (size_t)snprintf(out + used, len - used, "%s%s=%s", used ? " " : "", n->name,
					 v->evidence[i] >= 0 ? n->states[v->evidence[i]] : "?");
	}
}

/* "PROCESSING=CRITICAL: cpu.wait_pct 31.2 >= 25; P(violation) 0.21 if OK" */
static void describe_cause(const struct sla_engine *e, const struct sla_vm *v, const struct sla_cause *c, char *out,
			   size_t len)
{
	const struct bn_node *n = &e->model.net.node[c->node];
	const struct sla_vm_driver *d = &v->drv[c->node];
	char detail[400] = "";
	if (c->node == e->model.host_node && v->host_reason[0]) {
		snprintf(detail, sizeof(detail), ": %s", v->host_reason);
	} else if (d->rule >= 0 && v->rules && d->rule < v->rules->n) {
		const struct sla_rule *r = &v->rules->rule[(int)d->rule];
		snprintf(detail, sizeof(detail), ": %s%s%s%s %.4g %s %.4g", r->metric, d->tags[0] ? "{" : "", d->tags,
			 d->tags[0] ? "}" : "", d->value, r->critical < r->warning ? "<=" : ">=", d->threshold);
	}
	snprintf(out, len, "%s=%s%s; P(violation) %.2f if %s", n->name, n->states[c->state], detail, c->p_if_healthy,
		 n->states[0]);
}

/* The cause of the current evaluation, into the alert state. */
static void set_cause(struct sla_engine *e, struct sla_vm *v)
{
	struct sla_cause causes[BN_MAX_NODES];
	struct sla_alert_state *a = &v->alert;
	int n = sla_rank_causes(&e->model, v->evidence, causes);
	describe_evidence(e, v, a->evidence, sizeof(a->evidence));
	if (n == 0) {
		a->cause_node[0] = a->cause_state[0] = '\0';
		a->cause_p = v->p;
		snprintf(a->cause, sizeof(a->cause), "no evidence is away from its healthiest state; "
			 "P(violation) comes from the unobserved nodes and the model's tables");
		return;
	}
	const struct bn_node *node = &e->model.net.node[causes[0].node];
	snprintf(a->cause_node, sizeof(a->cause_node), "%s", node->name);
	snprintf(a->cause_state, sizeof(a->cause_state), "%s", node->states[causes[0].state]);
	a->cause_p = causes[0].p_if_healthy;
	describe_cause(e, v, &causes[0], a->cause, sizeof(a->cause));
}

static void run_hook(struct sla_engine *e, const struct sla_vm *v, const char *event, int64_t t_end)
{
	if (!e->hooks.command)
		return;
	const struct sla_alert_state *a = &v->alert;
	char vars[12][700];
	char *env[13];
	int n = 0;
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_EVENT=%s", event);
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_ALERT_ID=%" PRId64, a->id);
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_HOST=%s", v->host);
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_VM=%s", v->name);
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_VM_UUID=%s", v->uuid);
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_P_VIOLATION=%.4f", v->p);
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_PEAK=%.4f", a->peak);
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_CAUSE=%s%s%s", a->cause_node, a->cause_node[0] ? "=" : "",
		 a->cause_state);
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_CAUSE_TEXT=%s", a->cause);
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_STARTED_MS=%" PRId64, a->t_start_ms);
	snprintf(vars[n++], sizeof(vars[0]), "VIGIL_ENDED_MS=%" PRId64, t_end);
	for (int i = 0; i < n; i++)
		env[i] = vars[i];
	env[n] = NULL;
	char what[160];
	snprintf(what, sizeof(what), "%s alert %" PRId64 " of vm %s", event, a->id, v->name);
	sla_hook_start(&e->hooks, env, what);
}

/* One alert row on its way to the store: the request and copies of what
 * it points to, in one allocation that frees itself when the commit
 * holding it is done. */
struct sla_alert_write {
	struct store_req req;
	struct sla_alert_row row;
	char host[WIRE_MAX_HOST + 1];
	char vm[WIRE_MAX_VM_NAME + 1];
	char uuid[40];
	char cause_node[BN_NAME_MAX], cause_state[BN_NAME_MAX];
	char cause[640];
	char evidence[512];
};

static void alert_write_done(struct store_req *r, enum store_result res, const char *err)
{
	struct sla_alert_write *w = r->arg;
	if (res == STORE_FAILED) {
		const char *why = err ? err : "unknown error";
		if (r->kind == STORE_REQ_ALERT_OPEN)
			log_error("alert %" PRId64 " of vm %s not stored: %s", w->row.id, w->vm, why);
		else if (r->kind == STORE_REQ_ALERT_PEAK)
			log_error("alert %" PRId64 " not updated: %s", w->row.id, why);
		else
			log_error("alert %" PRId64 " not closed in the database: %s", w->row.id, why);
	}
	free(w);
}

/* Queues v's alert as it is now (kind STORE_REQ_ALERT_*; t_end for a
 * close) behind the readings made so far. Only an attached engine writes. */
static void alert_write(struct sla_engine *e, const struct sla_vm *v, enum store_req_kind kind, int64_t t_end)
{
	const struct sla_alert_state *a = &v->alert;
	if (!e->readings_tail || !a->id)
		return;
	struct sla_alert_write *w = calloc(1, sizeof(*w));
	if (!w) {
		log_error("alert %" PRId64 " of vm %s not written: out of memory", a->id, v->name);
		return;
	}
	snprintf(w->host, sizeof(w->host), "%s", v->host);
	snprintf(w->vm, sizeof(w->vm), "%s", v->name);
	snprintf(w->uuid, sizeof(w->uuid), "%s", v->uuid);
	snprintf(w->cause_node, sizeof(w->cause_node), "%s", a->cause_node);
	snprintf(w->cause_state, sizeof(w->cause_state), "%s", a->cause_state);
	snprintf(w->cause, sizeof(w->cause), "%s", a->cause);
	snprintf(w->evidence, sizeof(w->evidence), "%s", a->evidence);
	w->row = (struct sla_alert_row){
		.id = a->id,
		.host = w->host,
		.vm = w->vm,
		.vm_uuid = w->uuid,
		.t_start_ms = a->t_start_ms,
		.t_end_ms = t_end,
		.peak = a->peak,
		.cause_node = w->cause_node,
		.cause_state = w->cause_state,
		.cause_p = a->cause_p,
		.cause = w->cause,
		.evidence = w->evidence,
	};
	w->req.kind = kind;
	w->req.alert = &w->row;
	w->req.done = alert_write_done;
	w->req.arg = w;
	*e->readings_tail = &w->req;
	e->readings_tail = &w->req.next;
}

static void alert_open(struct sla_engine *e, struct sla_vm *v)
{
	struct sla_alert_state *a = &v->alert;
	a->open = 1;
	a->t_start_ms = v->run_start_ms;
	a->peak = v->p;
	/* A detached engine stores nothing and numbers nothing. */
	a->id = e->readings_tail ? ++e->last_alert_id : 0;
	set_cause(e, v);
	alert_write(e, v, STORE_REQ_ALERT_OPEN, 0);
	log_warn("SLA alert %" PRId64 " opened: vm %s on %s, P(violation) %.2f; cause %s", a->id, v->name, v->host,
		 v->p, a->cause);
	run_hook(e, v, "open", 0);
}

static void alert_peak(struct sla_engine *e, struct sla_vm *v)
{
	struct sla_alert_state *a = &v->alert;
	a->peak = v->p;
	set_cause(e, v);
	alert_write(e, v, STORE_REQ_ALERT_PEAK, 0);
}

static void alert_close(struct sla_engine *e, struct sla_vm *v, int64_t t_end, const char *why)
{
	struct sla_alert_state *a = &v->alert;
	alert_write(e, v, STORE_REQ_ALERT_CLOSE, t_end);
	log_info("SLA alert %" PRId64 " closed: vm %s on %s, %s (peak %.2f)", a->id, v->name, v->host, why, a->peak);
	run_hook(e, v, "close", t_end);
	a->open = 0;
	v->above = v->below = 0;
}

/* The alert rule, once per evaluation of [t_start, t_end]. */
static void alert_step(struct sla_engine *e, struct sla_vm *v, int64_t t_start)
{
	const struct sla_config *c = &e->cfg;
	if (!v->alert.open) {
		if (v->p >= c->alert_level) {
			if (v->above++ == 0)
				v->run_start_ms = t_start;
		} else {
			v->above = 0;
		}
		if (v->above >= c->alert_after)
			alert_open(e, v);
		return;
	}
	if (v->p > v->alert.peak)
		alert_peak(e, v);
	if (v->p < c->clear_level) {
		if (v->below++ == 0)
			v->clear_start_ms = t_start;
	} else {
		v->below = 0;
	}
	if (v->below >= c->clear_after) {
		char why[64];
		snprintf(why, sizeof(why), "P(violation) %.2f below %.2f", v->p, c->clear_level);
		alert_close(e, v, v->clear_start_ms, why);
	}
}

/* ---- evaluation ------------------------------------------------------------------- */

static void copy_tags(const Vigil__Sample *s, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t t = 0; s && t < s->n_tags && used < len; t++)
		used += (size_t)snprintf(out + used, len - used, "%s%s=%s", t ? "," : "", s->tags[t]->key,
					 s->tags[t]->value);
}

static void evaluate(struct sla_engine *e, struct sla_vm *v, const Vigil__VmSamples *vm, uint32_t interval_ms)
{
	struct sla_driver drivers[BN_MAX_NODES];
	for (int i = 0; i < e->model.net.n_nodes; i++)
		drivers[i].rule = -1;
	sla_eval_levels(&e->model, v->rules, e->cfg.hysteresis, vm, interval_ms, v->level, v->evidence, drivers);
	for (int i = 0; i < e->model.net.n_nodes; i++) {
		v->drv[i].rule = (signed char)drivers[i].rule;
		if (drivers[i].rule < 0)
			continue;
		v->drv[i].value = drivers[i].value;
		v->drv[i].threshold = drivers[i].threshold;
		copy_tags(drivers[i].sample, v->drv[i].tags, sizeof(v->drv[i].tags));
	}
	if (e->model.host_node >= 0) {
		int running = strcmp(vm->state, "running") == 0;
		v->evidence[e->model.host_node] = running ? 0 : 1;
		if (running)
			v->host_reason[0] = '\0';
		else
			snprintf(v->host_reason, sizeof(v->host_reason), "vm state %s", vm->state);
	}
	char err[256];
	if (sla_p_violation(&e->model, v->evidence, &v->p, err, sizeof(err)) < 0) {
		log_warn("vm %s: %s; P(violation) left at %.2f", v->name, err, v->p);
		return;
	}
	v->evaluated = 1;
}

/* Evaluation tick: a VM is evaluated on every batch unless sla.tick asks
 * for less often. */
static int due(const struct sla_engine *e, const struct sla_vm *v, const Vigil__Batch *b)
{
	/* A batch is evaluated before the store has judged it, so a repeat
	 * (a probe resending an unacknowledged batch) is recognised here, by
	 * its host's sequence number as the store does. */
	if (v->last_seq && b->seq <= v->last_seq)
		return 0;
	return e->cfg.tick_ms == 0 || !v->evaluated || b->t_end_ms - v->last_t_end_ms >= e->cfg.tick_ms;
}

/* The host is back: its VM's DOWN row, extended only now and then while it
 * was silent, is carried to where the new data starts, so the silence is
 * covered without a gap. */
static void end_silence(struct sla_engine *e, struct sla_vm *v, int64_t t_start_ms)
{
	int64_t span = t_start_ms - v->last_t_end_ms;
	if (span <= 0)
		return;
	/* One reading over the whole span, so it continues the row. */
	store_evaluation(e, v, v->last_t_end_ms, t_start_ms, (uint32_t)(span > v->interval_ms ? span : v->interval_ms));
	v->last_t_end_ms = t_start_ms;
}

void sla_engine_on_batch(struct sla_engine *e, const Vigil__Batch *b, int64_t now_ms)
{
	for (size_t i = 0; i < b->n_vms; i++) {
		const Vigil__VmSamples *vm = b->vms[i];
		if (strcmp(vm->source, "host") == 0)
			continue;
		struct sla_vm *v = vm_get(e, vm->uuid, vm->name, b->host);
		if (!v) {
			log_error("vm %s: out of memory for its SLA state", vm->name);
			continue;
		}
		v->last_seen_wall_ms = now_ms;
		v->interval_ms = b->interval_ms;
		if (v->stale)
			end_silence(e, v, b->t_start_ms);
		v->stale = 0;
		if (!due(e, v, b))
			continue;
		/* With a tick longer than the interval, one row spans the tick. */
		int64_t t_start = b->t_start_ms;
		uint32_t span = b->interval_ms;
		if (e->cfg.tick_ms > 0 && v->evaluated && b->t_end_ms - v->last_t_end_ms <= 2LL * e->cfg.tick_ms) {
			t_start = v->last_t_end_ms;
			span = (uint32_t)(b->t_end_ms - v->last_t_end_ms);
		}
		evaluate(e, v, vm, b->interval_ms);
		store_evaluation(e, v, t_start, b->t_end_ms, span);
		v->last_t_end_ms = b->t_end_ms;
		v->last_seq = b->seq;
		alert_step(e, v, t_start);
	}
}

/* A VM no batch has listed for stale_after intervals: its host is silent
 * or the VM is gone. Evaluated as HOST DOWN with the other evidence
 * unknown, once per interval, the row continuing from its last data. */
static void evaluate_silent(struct sla_engine *e, struct sla_vm *v, int64_t now_ms)
{
	if (e->model.host_node < 0)
		return;
	int64_t interval = v->interval_ms ? v->interval_ms : SLA_FALLBACK_INTERVAL_MS;
	if (v->stale) {
		/* Already DOWN: only the row's end moves, so less often. */
		interval = interval > SLA_SILENT_PERIOD_MS ? interval : SLA_SILENT_PERIOD_MS;
		if (now_ms - v->last_t_end_ms < interval)
			return;
	}
	if (!v->stale)
		log_warn("vm %s on %s: no data for %.0f s; evaluated as %s=%s", v->name, v->host,
			 (double)(now_ms - v->last_seen_wall_ms) / 1000.0, e->cfg.host_node,
			 e->model.net.node[e->model.host_node].states[1]);
	v->stale = 1;
	for (int i = 0; i < e->model.net.n_nodes; i++) {
		v->evidence[i] = -1;
		v->drv[i].rule = -1;
	}
	v->evidence[e->model.host_node] = 1;
	snprintf(v->host_reason, sizeof(v->host_reason), "no data from host %s for %.0f s", v->host,
		 (double)(now_ms - v->last_seen_wall_ms) / 1000.0);
	char err[256];
	if (sla_p_violation(&e->model, v->evidence, &v->p, err, sizeof(err)) < 0) {
		log_warn("vm %s: %s", v->name, err);
		return;
	}
	int64_t t_start = v->last_t_end_ms ? v->last_t_end_ms : now_ms - interval;
	if (t_start >= now_ms)
		return;
	store_evaluation(e, v, t_start, now_ms, (uint32_t)interval);
	v->last_t_end_ms = now_ms;
	v->evaluated = 1;
	alert_step(e, v, t_start);
}

void sla_engine_tick(struct sla_engine *e, int64_t now_ms)
{
	sla_hook_reap(&e->hooks, clock_monotonic_ms());
	if (now_ms - e->last_tick_ms < SLA_TICK_PERIOD_MS)
		return;
	e->last_tick_ms = now_ms;
	for (size_t i = 0; i < e->cap; i++) {
		struct sla_vm *v = e->slot[i];
		if (!v)
			continue;
		int64_t interval = v->interval_ms ? v->interval_ms : SLA_FALLBACK_INTERVAL_MS;
		int64_t silent = now_ms - v->last_seen_wall_ms;
		if (silent > (int64_t)e->cfg.forget_after_s * 1000) {
			if (v->alert.open)
				alert_close(e, v, now_ms, "VM forgotten after sla.forget_after without data");
			log_info("vm %s on %s: no data for %lld s; its SLA state is dropped", v->name, v->host,
				 (long long)(silent / 1000));
			table_remove(e, v);
			i--; /* the slot may hold an entry moved back */
			continue;
		}
		if (silent > e->cfg.stale_intervals * interval)
			evaluate_silent(e, v, now_ms);
	}
}

int sla_engine_hooks_running(struct sla_engine *e)
{
	return sla_hook_reap(&e->hooks, clock_monotonic_ms());
}

void sla_engine_stop_hooks(struct sla_engine *e, int grace_ms)
{
	sla_hooks_stop(&e->hooks, grace_ms);
}

int sla_engine_view(const struct sla_engine *e, const char *vm, struct sla_vm_view *out)
{
	const struct sla_vm *v = NULL;
	for (size_t i = 0; i < e->cap && !v; i++)
		if (e->slot[i] && (strcmp(e->slot[i]->name, vm) == 0 || strcmp(e->slot[i]->uuid, vm) == 0))
			v = e->slot[i];
	if (!v || !v->evaluated)
		return -1;
	memset(out, 0, sizeof(*out));
	out->host = v->host;
	out->name = v->name;
	out->uuid = v->uuid;
	out->evidence = v->evidence;
	out->p_violation = v->p;
	out->at_ms = v->last_t_end_ms;
	out->stale = v->stale;
	out->open_alert_id = v->alert.open ? v->alert.id : 0;
	for (int i = 0; i < e->model.net.n_nodes; i++) {
		out->driver[i].rule = v->drv[i].rule;
		if (v->drv[i].rule < 0)
			continue;
		const struct sla_rule *r = &v->rules->rule[(int)v->drv[i].rule];
		out->driver[i].metric = r->metric;
		out->driver[i].tags = v->drv[i].tags;
		out->driver[i].value = v->drv[i].value;
		out->driver[i].threshold = v->drv[i].threshold;
	}
	return 0;
}

/* ---- the collector's engine ---------------------------------------------------------- */

int sla_live_setup(struct sla_live *l, const config_t *cfg, const char *config_path)
{
	struct sla_config c;
	char err[600];
	l->engine = NULL;
	pthread_mutex_init(&l->mu, NULL);
	if (sla_config_read(cfg, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigil-collector: %s: %s\n", config_path, err);
		sla_config_free(&c);
		return -1;
	}
	if (!c.enabled) {
		sla_config_free(&c);
		return 0;
	}
	if (sla_engine_new(&c, &l->engine, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigil-collector: %s: sla: %s\n", config_path, err);
		l->engine = NULL;
		return -1;
	}
	return 0;
}

int sla_live_start(struct sla_live *l, struct store *st)
{
	char err[600];
	if (!l->engine) {
		log_info("SLA checks are off (sla.enabled = false)");
		return 0;
	}
	if (sla_engine_attach(l->engine, st, clock_realtime_ms(), err, sizeof(err)) < 0) {
		log_error("SLA checks: %s", err);
		return -1;
	}
	return 0;
}

void sla_live_stop(struct sla_live *l)
{
	if (l->engine) {
		sla_engine_stop_hooks(l->engine, 2000);
		sla_engine_free(l->engine);
		l->engine = NULL;
	}
	pthread_mutex_destroy(&l->mu);
}

struct store_req *sla_live_on_batch(struct sla_live *l, const Vigil__Batch *b)
{
	struct store_req *chain = NULL;
	if (!l->engine)
		return NULL;
	pthread_mutex_lock(&l->mu);
	sla_engine_on_batch(l->engine, b, clock_realtime_ms());
	chain = sla_engine_take_readings(l->engine);
	pthread_mutex_unlock(&l->mu);
	return chain;
}

void sla_live_tick(struct sla_live *l, struct store *st)
{
	if (!l->engine)
		return;
	pthread_mutex_lock(&l->mu);
	sla_engine_tick(l->engine, clock_realtime_ms());
	struct store_req *chain = sla_engine_take_readings(l->engine);
	pthread_mutex_unlock(&l->mu);
	sla_submit_readings(st, chain);
}

/* The view's context is the sla_live: its engine, read under its lock
 * (the lock is the one part a reader changes, hence the casts). */
static int live_view_of(const void *ctx, const char *vm, struct sla_vm_view *out)
{
	return sla_engine_view(((const struct sla_live *)ctx)->engine, vm, out);
}

static void live_lock(const void *ctx)
{
	pthread_mutex_lock(&((struct sla_live *)ctx)->mu);
}

static void live_unlock(const void *ctx)
{
	pthread_mutex_unlock(&((struct sla_live *)ctx)->mu);
}

struct sla_live_view sla_live_query_view(struct sla_live *l)
{
	struct sla_live_view v = { live_view_of, l, live_lock, live_unlock };
	return v;
}

const struct sla_model *sla_live_model(const struct sla_live *l)
{
	return l->engine ? sla_engine_model(l->engine) : NULL;
}

static int view_of(const void *ctx, const char *vm, struct sla_vm_view *out)
{
	return sla_engine_view(ctx, vm, out);
}

struct sla_live_view sla_engine_live_view(const struct sla_engine *e)
{
	struct sla_live_view v = { view_of, e, NULL, NULL };
	return v;
}
