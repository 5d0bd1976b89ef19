#include "sla_cases.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "wire.h"

/* ---- the SLO expression ------------------------------------------------------ */

static const char *skip_spaces(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

static size_t word_len(const char *p)
{
	size_t n = 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '.')
		n++;
	return n;
}

static int parse_cond(struct sla_slo_cond *c, const char **pp, const struct sla_model *m, char *err, size_t errlen)
{
	const char *p = skip_spaces(*pp);
	size_t n = word_len(p);
	if (n == 0 || n >= sizeof(c->metric)) {
		snprintf(err, errlen, "SLO: expected NODE=STATE or METRIC > NUMBER at '%.20s'", p);
		return -1;
	}
	char name[65];
	memcpy(name, p, n);
	name[n] = '\0';
	p = skip_spaces(p + n);
	if (*p == '=' && p[1] != '=') {
		p = skip_spaces(p + 1);
		size_t k = word_len(p);
		char state[BN_NAME_MAX] = "";
		snprintf(state, sizeof(state), "%.*s", (int)k, p);
		c->is_metric = 0;
		c->node = bn_find_node(&m->net, name);
		if (c->node < 0) {
			snprintf(err, errlen, "SLO: %s is not a node of the network", name);
			return -1;
		}
		c->state = bn_find_state(&m->net.node[c->node], state);
		if (c->state < 0) {
			snprintf(err, errlen, "SLO: '%s' is not a state of %s", state, name);
			return -1;
		}
		*pp = p + k;
		return 0;
	}
	c->is_metric = 1;
	if (!wire_valid_metric(name)) {
		snprintf(err, errlen, "SLO: '%s' is neither a node nor a metric name", name);
		return -1;
	}
	memcpy(c->metric, name, n + 1);
	if (*p == '>' || *p == '<') {
		c->op = p[1] == '=' ? (*p == '>' ? 'G' : 'L') : *p;
		p += p[1] == '=' ? 2 : 1;
	} else {
		snprintf(err, errlen, "SLO: after %s expected '=', '>', '>=', '<' or '<='", name);
		return -1;
	}
	char *end;
	errno = 0;
	c->number = strtod(p, &end);
	if (end == p || errno) {
		snprintf(err, errlen, "SLO: expected a number after %s", name);
		return -1;
	}
	*pp = end;
	return 0;
}

int sla_slo_parse(struct sla_slo *slo, const char *text, const struct sla_model *m, char *err, size_t errlen)
{
	memset(slo, 0, sizeof(*slo));
	const char *p = text;
	for (;;) {
		if (slo->n == SLA_SLO_MAX_CONDS) {
			snprintf(err, errlen, "SLO: more than %d conditions", SLA_SLO_MAX_CONDS);
			return -1;
		}
		struct sla_slo_cond *c = &slo->cond[slo->n];
		if (parse_cond(c, &p, m, err, errlen) < 0)
			return -1;
		c->term = slo->n_terms;
		slo->n++;
		p = skip_spaces(p);
		if (!*p)
			break;
		if (p[0] == '|' && p[1] == '|') {
			slo->n_terms++;
			p += 2;
		} else if (p[0] == '&' && p[1] == '&') {
			p += 2;
		} else {
			snprintf(err, errlen, "SLO: expected '||', '&&' or the end at '%.20s'", p);
			return -1;
		}
	}
	slo->n_terms++;
	return 0;
}

/* ---- slices ---------------------------------------------------------------------- */

/* Per VM: for every slice, the worst state of each node (-1: none) and
 * which SLO conditions held. */
struct vm_slices {
	char uuid[40];
	signed char *state;  /* n_slices * n_nodes */
	uint32_t *cond_held; /* n_slices bitmaps */
	unsigned char *any;  /* the slice has SLA data */
};

struct collector {
	const struct sla_model *m;
	const struct sla_history_opts *o;
	int n_slices;
	struct vm_slices *vm;
	int n_vms;
	/* what the current scan fills */
	int node;
	const struct sla_slo_cond *cond;
	int cond_index;
	int failed;
};

static struct vm_slices *vm_for(struct collector *c, const char *uuid)
{
	for (int i = 0; i < c->n_vms; i++)
		if (strcmp(c->vm[i].uuid, uuid) == 0)
			return &c->vm[i];
	struct vm_slices *grown = realloc(c->vm, sizeof(*grown) * (size_t)(c->n_vms + 1));
	if (!grown)
		return NULL;
	c->vm = grown;
	struct vm_slices *v = &c->vm[c->n_vms];
	size_t cells = (size_t)c->n_slices * (size_t)c->m->net.n_nodes;
	v->state = malloc(cells ? cells : 1);
	v->cond_held = calloc((size_t)c->n_slices, sizeof(uint32_t));
	v->any = calloc((size_t)c->n_slices, 1);
	if (!v->state || !v->cond_held || !v->any) {
		free(v->state);
		free(v->cond_held);
		free(v->any);
		return NULL;
	}
	memset(v->state, -1, cells);
	snprintf(v->uuid, sizeof(v->uuid), "%s", uuid);
	c->n_vms++;
	return v;
}

/* The slices a row overlaps. */
static void slice_range(const struct collector *c, const struct history_row *r, int *first, int *last)
{
	int64_t s = r->t_start_ms < c->o->since_ms ? c->o->since_ms : r->t_start_ms;
	int64_t e = r->t_end_ms > c->o->until_ms ? c->o->until_ms : r->t_end_ms;
	*first = (int)((s - c->o->since_ms) / c->o->slice_ms);
	/* A row ending exactly on a slice boundary does not reach into the next. */
	*last = (int)((e - c->o->since_ms - (e > s ? 1 : 0)) / c->o->slice_ms);
	if (*last >= c->n_slices)
		*last = c->n_slices - 1;
}

static int on_state_row(const struct history_row *r, void *arg)
{
	struct collector *c = arg;
	struct vm_slices *v = vm_for(c, r->vm_uuid);
	if (!v) {
		c->failed = 1;
		return 1;
	}
	int state = (int)(r->value + 0.5), first, last;
	if (state < 0 || state >= c->m->net.node[c->node].n_states)
		return 0;
	slice_range(c, r, &first, &last);
	for (int k = first; k <= last; k++) {
		signed char *cell = &v->state[(size_t)k * (size_t)c->m->net.n_nodes + (size_t)c->node];
		if (*cell < state)
			*cell = (signed char)state;
		v->any[k] = 1;
	}
	return 0;
}

static int holds(const struct sla_slo_cond *cond, double value)
{
	switch (cond->op) {
	case '>':
		return value > cond->number;
	case 'G':
		return value >= cond->number;
	case '<':
		return value < cond->number;
	default:
		return value <= cond->number;
	}
}

static int on_metric_row(const struct history_row *r, void *arg)
{
	struct collector *c = arg;
	if (!holds(c->cond, r->value))
		return 0;
	for (int i = 0; i < c->n_vms; i++) {
		if (strcmp(c->vm[i].uuid, r->vm_uuid) != 0)
			continue;
		int first, last;
		slice_range(c, r, &first, &last);
		for (int k = first; k <= last; k++)
			c->vm[i].cond_held[k] |= 1u << c->cond_index;
	}
	return 0;
}

static void node_metric(const struct bn_node *n, char *out, size_t len)
{
	size_t k = (size_t)snprintf(out, len, "sla.");
	for (const char *s = n->name; *s && k + 1 < len; s++)
		out[k++] = (char)tolower((unsigned char)*s);
	out[k] = '\0';
}

static int slo_holds(const struct sla_slo *slo, const struct vm_slices *v, int k, int n_nodes)
{
	for (int t = 0; t < slo->n_terms; t++) {
		int all = 1;
		for (int i = 0; i < slo->n && all; i++) {
			const struct sla_slo_cond *cond = &slo->cond[i];
			if (cond->term != t)
				continue;
			if (cond->is_metric)
				all = (v->cond_held[k] >> i) & 1;
			else
				all = v->state[(size_t)k * (size_t)n_nodes + (size_t)cond->node] == cond->state;
		}
		if (all)
			return 1;
	}
	return 0;
}

static int emit_cases(struct collector *c, const struct sla_slo *slo, struct bn_cases *cases,
		      struct sla_history_summary *sum)
{
	const struct sla_model *m = c->m;
	int healthy = m->violated == 0 ? 1 : 0;
	for (int i = 0; i < c->n_vms; i++) {
		int any = 0;
		for (int k = 0; k < c->n_slices; k++) {
			if (!c->vm[i].any[k])
				continue;
			int row[BN_MAX_NODES];
			for (int n = 0; n < m->net.n_nodes; n++)
				row[n] = c->vm[i].state[(size_t)k * (size_t)m->net.n_nodes + (size_t)n];
			int violated = slo_holds(slo, &c->vm[i], k, m->net.n_nodes);
			row[m->target] = violated ? m->violated : healthy;
			if (bn_cases_add(cases, row) < 0)
				return -1;
			sum->slices++;
			sum->violated += violated;
			any = 1;
		}
		sum->vms += any;
	}
	return 0;
}

int sla_history_cases(const struct history_source *src, const struct sla_model *m, const struct sla_slo *slo,
		      const struct sla_history_opts *o, struct bn_cases *cases, struct sla_history_summary *sum,
		      char *err, size_t errlen)
{
	memset(sum, 0, sizeof(*sum));
	if (o->until_ms <= o->since_ms || o->slice_ms <= 0) {
		snprintf(err, errlen, "the history window is empty");
		return -1;
	}
	int64_t n_slices = (o->until_ms - o->since_ms + o->slice_ms - 1) / o->slice_ms;
	if (n_slices > 10000000) {
		snprintf(err, errlen, "%lld slices: use a shorter window or longer slices", (long long)n_slices);
		return -1;
	}
	struct collector c = { .m = m, .o = o, .n_slices = (int)n_slices };
	int rc = 0;
	for (int n = 0; n < m->net.n_nodes && rc == 0; n++) {
		if (n == m->target)
			continue;
		char metric[BN_NAME_MAX + 8];
		node_metric(&m->net.node[n], metric, sizeof(metric));
		struct history_filter f = { .vm = o->vm, .metric = metric, .tags = "", .since_ms = o->since_ms,
					    .until_ms = o->until_ms };
		c.node = n;
		rc = src->scan(src->ctx, &f, on_state_row, &c, err, errlen) < 0 || c.failed ? -1 : 0;
	}
	for (int i = 0; i < slo->n && rc == 0; i++) {
		if (!slo->cond[i].is_metric)
			continue;
		struct history_filter f = { .vm = o->vm, .metric = slo->cond[i].metric, .since_ms = o->since_ms,
					    .until_ms = o->until_ms };
		c.cond = &slo->cond[i];
		c.cond_index = i;
		rc = src->scan(src->ctx, &f, on_metric_row, &c, err, errlen) < 0 ? -1 : 0;
	}
	if (c.failed)
		snprintf(err, errlen, "out of memory");
	if (rc == 0 && emit_cases(&c, slo, cases, sum) < 0) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	for (int i = 0; i < c.n_vms; i++) {
		free(c.vm[i].state);
		free(c.vm[i].cond_held);
		free(c.vm[i].any);
	}
	free(c.vm);
	return rc;
}
