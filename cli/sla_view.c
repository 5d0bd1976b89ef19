#include "sla_view.h"

#include <json-c/json.h>
#include <time.h>

#include "sla_avail.h"

void sla_format_time(char *buf, size_t len, int64_t ms)
{
	if (ms == 0) {
		snprintf(buf, len, "-");
		return;
	}
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int print_json(FILE *f, json_object *root)
{
	if (!root)
		return -1;
	fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return 0;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void add_time(json_object *o, const char *k, int64_t ms)
{
	char when[40];
	sla_format_time(when, sizeof(when), ms);
	json_object_object_add(o, k, ms ? json_object_new_string(when) : NULL);
}

/* ---- explain ------------------------------------------------------------------- */

static void evidence_line(FILE *f, const Vigil__SlaEvidence *e)
{
	char why[200] = "";
	if (e->metric[0]) {
		int n = snprintf(why, sizeof(why), "%s%s%s%s %.4g", e->metric, e->tags[0] ? "{" : "", e->tags,
				 e->tags[0] ? "}" : "", e->value);
		if (e->threshold != 0 && n > 0 && (size_t)n < sizeof(why))
			snprintf(why + n, sizeof(why) - (size_t)n, " (threshold %.4g)", e->threshold);
	}
	fprintf(f, "  %-14s %-10s %s\n", e->node, e->observed ? e->state : "?",
		e->observed ? why : "(unobserved: marginalised)");
}

void sla_explain_print_table(FILE *f, const Vigil__SlaExplainReply *r)
{
	char when[40];
	sla_format_time(when, sizeof(when), r->at_ms);
	fprintf(f, "VM %s on %s (%s), evaluated at %s%s\n", r->vm, r->host, r->uuid, when,
		r->live ? "" : " (from stored rows)");
	fprintf(f, "model: %s\n\n", r->model);
	fprintf(f, "Evidence:\n");
	for (size_t i = 0; i < r->n_evidence; i++)
		evidence_line(f, r->evidence[i]);
	fprintf(f, "\nP(%s) = %.4f\n", r->target, r->p_violation);
	if (r->n_causes == 0) {
		fprintf(f, "\nNo evidence is away from its healthiest state.\n");
	} else {
		fprintf(f, "\nCauses, most decisive first (P(violation) if the node alone were healthy):\n");
		for (size_t i = 0; i < r->n_causes; i++) {
			const Vigil__SlaCause *c = r->causes[i];
			fprintf(f, "  %zu. %s=%s  ->  %.4f with %s=%s (%+.4f)\n", i + 1, c->node, c->state,
				c->p_violation_if_healthy, c->node, c->healthy_state, c->p_violation_if_healthy - r->p_violation);
		}
	}
	if (r->open_alert) {
		sla_format_time(when, sizeof(when), r->open_alert->t_start_ms);
		fprintf(f, "\nOpen alert %llu since %s, peak %.4f: %s\n", (unsigned long long)r->open_alert->id, when,
			r->open_alert->peak, r->open_alert->cause);
	}
}

static json_object *alert_json(const Vigil__SlaAlert *a)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64((int64_t)a->id));
	add_str(o, "host", a->host);
	add_str(o, "vm", a->vm);
	add_str(o, "uuid", a->uuid);
	add_time(o, "start", a->t_start_ms);
	add_time(o, "end", a->t_end_ms);
	json_object_object_add(o, "start_ms", json_object_new_int64(a->t_start_ms));
	json_object_object_add(o, "end_ms", a->t_end_ms ? json_object_new_int64(a->t_end_ms) : NULL);
	json_object_object_add(o, "open", json_object_new_boolean(a->t_end_ms == 0));
	json_object_object_add(o, "peak", json_object_new_double(a->peak));
	add_str(o, "cause_node", a->cause_node);
	add_str(o, "cause_state", a->cause_state);
	json_object_object_add(o, "cause_p_violation", json_object_new_double(a->cause_p));
	add_str(o, "cause", a->cause);
	add_str(o, "evidence", a->evidence);
	return o;
}

int sla_explain_print_json(FILE *f, const Vigil__SlaExplainReply *r)
{
	json_object *o = json_object_new_object(), *ev = json_object_new_array(), *causes = json_object_new_array();
	add_str(o, "host", r->host);
	add_str(o, "vm", r->vm);
	add_str(o, "uuid", r->uuid);
	add_time(o, "at", r->at_ms);
	json_object_object_add(o, "at_ms", json_object_new_int64(r->at_ms));
	json_object_object_add(o, "live", json_object_new_boolean(r->live));
	add_str(o, "model", r->model);
	add_str(o, "target", r->target);
	json_object_object_add(o, "p_violation", json_object_new_double(r->p_violation));
	for (size_t i = 0; i < r->n_evidence; i++) {
		const Vigil__SlaEvidence *e = r->evidence[i];
		json_object *x = json_object_new_object();
		add_str(x, "node", e->node);
		json_object_object_add(x, "state", e->observed ? json_object_new_string(e->state) : NULL);
		if (e->metric[0]) {
			add_str(x, "metric", e->metric);
			add_str(x, "tags", e->tags);
			json_object_object_add(x, "value", json_object_new_double(e->value));
			json_object_object_add(x, "threshold", e->threshold != 0 ? json_object_new_double(e->threshold) : NULL);
		}
		json_object_array_add(ev, x);
	}
	json_object_object_add(o, "evidence", ev);
	for (size_t i = 0; i < r->n_causes; i++) {
		const Vigil__SlaCause *c = r->causes[i];
		json_object *x = json_object_new_object();
		add_str(x, "node", c->node);
		add_str(x, "state", c->state);
		add_str(x, "healthy_state", c->healthy_state);
		json_object_object_add(x, "p_violation_if_healthy", json_object_new_double(c->p_violation_if_healthy));
		json_object_array_add(causes, x);
	}
	json_object_object_add(o, "causes", causes);
	json_object_object_add(o, "open_alert", r->open_alert ? alert_json(r->open_alert) : NULL);
	return print_json(f, o);
}

/* ---- alerts ---------------------------------------------------------------------- */

void sla_alerts_print_table(FILE *f, const Vigil__AlertsReply *r)
{
	fprintf(f, "%-5s %-16s %-20s %-20s %-20s %5s  %s\n", "ID", "HOST", "VM", "START", "END", "PEAK", "CAUSE");
	for (size_t i = 0; i < r->n_alerts; i++) {
		const Vigil__SlaAlert *a = r->alerts[i];
		char start[40], end[40];
		sla_format_time(start, sizeof(start), a->t_start_ms);
		if (a->t_end_ms)
			sla_format_time(end, sizeof(end), a->t_end_ms);
		else
			snprintf(end, sizeof(end), "(open)");
		fprintf(f, "%-5llu %-16s %-20s %-20s %-20s %5.2f  %s\n", (unsigned long long)a->id, a->host, a->vm, start,
			end, a->peak, a->cause);
	}
	if (r->n_alerts == 0)
		fprintf(f, "(no alerts)\n");
}

int sla_alerts_print_json(FILE *f, const Vigil__AlertsReply *r)
{
	json_object *root = json_object_new_object(), *list = json_object_new_array();
	for (size_t i = 0; i < r->n_alerts; i++)
		json_object_array_add(list, alert_json(r->alerts[i]));
	json_object_object_add(root, "alerts", list);
	return print_json(f, root);
}

/* ---- availability ------------------------------------------------------------------ */

void sla_availability_print_table(FILE *f, const Vigil__AvailabilityReply *r)
{
	char start[40], end[40], d[64], allowed[64], mtbf[64], mttr[64], window[64];
	sla_format_time(start, sizeof(start), r->window_start_ms);
	sla_format_time(end, sizeof(end), r->window_end_ms);
	sla_format_duration(r->window_end_ms - r->window_start_ms, window, sizeof(window));
	sla_format_duration(r->downtime_ms, d, sizeof(d));
	sla_format_duration(r->allowed_downtime_ms, allowed, sizeof(allowed));
	sla_format_duration(r->mtbf_ms, mtbf, sizeof(mtbf));
	sla_format_duration(r->mttr_ms, mttr, sizeof(mttr));
	fprintf(f, "VM %s on %s (%s)\n", r->vm, r->host, r->uuid);
	fprintf(f, "window:           %s .. %s (%s observed", start, end, window);
	if (r->requested_window_ms > r->window_end_ms - r->window_start_ms)
		fprintf(f, "; data starts later than the requested window");
	fprintf(f, ")\n");
	if (r->downtime_ms == 0)
		fprintf(f, "uptime:           100%% (no downtime; nines: unbounded)\n");
	else
		fprintf(f, "uptime:           %.4f%% (%.2f nines)\n", r->uptime_pct, r->nines);
	fprintf(f, "downtime:         %s in %zu outage%s\n", d, r->n_outages, r->n_outages == 1 ? "" : "s");
	fprintf(f, "MTBF:             %s\n", r->n_outages ? mtbf : "- (no failure)");
	fprintf(f, "MTTR:             %s\n", r->n_outages ? mttr : "- (no outage)");
	fprintf(f, "target %.4g%%:     allows %s over the window: %s\n", r->target_pct, allowed,
		r->target_met ? "met" : "NOT met");
	for (size_t i = 0; i < r->n_outages; i++) {
		const Vigil__Outage *o = r->outages[i];
		char s[40], e[40], len[64];
		sla_format_time(s, sizeof(s), o->t_start_ms);
		sla_format_time(e, sizeof(e), o->t_end_ms);
		sla_format_duration(o->t_end_ms - o->t_start_ms, len, sizeof(len));
		fprintf(f, "  outage %zu: %s .. %s (%s): %s\n", i + 1, s, e, len, o->cause);
	}
}

int sla_availability_print_json(FILE *f, const Vigil__AvailabilityReply *r)
{
	json_object *o = json_object_new_object(), *list = json_object_new_array();
	add_str(o, "host", r->host);
	add_str(o, "vm", r->vm);
	add_str(o, "uuid", r->uuid);
	add_time(o, "window_start", r->window_start_ms);
	add_time(o, "window_end", r->window_end_ms);
	json_object_object_add(o, "window_start_ms", json_object_new_int64(r->window_start_ms));
	json_object_object_add(o, "window_end_ms", json_object_new_int64(r->window_end_ms));
	json_object_object_add(o, "requested_window_ms", json_object_new_int64(r->requested_window_ms));
	json_object_object_add(o, "uptime_ms", json_object_new_int64(r->uptime_ms));
	json_object_object_add(o, "downtime_ms", json_object_new_int64(r->downtime_ms));
	json_object_object_add(o, "uptime_pct", json_object_new_double(r->uptime_pct));
	json_object_object_add(o, "nines", r->downtime_ms ? json_object_new_double(r->nines) : NULL);
	json_object_object_add(o, "outage_count", json_object_new_int((int32_t)r->n_outages));
	json_object_object_add(o, "mtbf_ms", r->n_outages ? json_object_new_int64(r->mtbf_ms) : NULL);
	json_object_object_add(o, "mttr_ms", r->n_outages ? json_object_new_int64(r->mttr_ms) : NULL);
	json_object_object_add(o, "target_pct", json_object_new_double(r->target_pct));
	json_object_object_add(o, "allowed_downtime_ms", json_object_new_int64(r->allowed_downtime_ms));
	json_object_object_add(o, "target_met", json_object_new_boolean(r->target_met));
	for (size_t i = 0; i < r->n_outages; i++) {
		json_object *x = json_object_new_object();
		add_time(x, "start", r->outages[i]->t_start_ms);
		add_time(x, "end", r->outages[i]->t_end_ms);
		json_object_object_add(x, "start_ms", json_object_new_int64(r->outages[i]->t_start_ms));
		json_object_object_add(x, "end_ms", json_object_new_int64(r->outages[i]->t_end_ms));
		add_str(x, "cause", r->outages[i]->cause);
		json_object_array_add(list, x);
	}
	json_object_object_add(o, "outages", list);
	return print_json(f, o);
}
