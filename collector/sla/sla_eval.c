#include "sla_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sla_model_init(struct sla_model *m, struct bn *net, const char *origin, const struct sla_config *c, char *err,
		   size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->target = bn_find_node(net, c->target);
	if (m->target < 0) {
		snprintf(err, errlen, "%s: the network has no node %s (sla.target)", origin, c->target);
		return -1;
	}
	m->violated = bn_find_state(&net->node[m->target], c->violated);
	if (m->violated < 0) {
		snprintf(err, errlen, "%s: node %s has no state %s (sla.violated)", origin, c->target, c->violated);
		return -1;
	}
	m->host_node = bn_find_node(net, c->host_node);
	if (m->host_node >= 0 && net->node[m->host_node].n_states != 2) {
		snprintf(err, errlen, "%s: node %s (sla.host_node) needs two states, up first then down", origin,
			 c->host_node);
		return -1;
	}
	for (int i = 0; i < net->n_nodes; i++)
		m->combine[i] = sla_config_combine(c, net->node[i].name);
	snprintf(m->origin, sizeof(m->origin), "%s", origin);
	m->net = *net;
	memset(net, 0, sizeof(*net));
	return 0;
}

void sla_model_free(struct sla_model *m)
{
	bn_free(&m->net);
}

static unsigned metric_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h ^ (h >> 16)) & 63;
}

static void compile_selector(struct sla_ruleset *rs, int i)
{
	char sel[SLA_TAGS_MAX];
	memcpy(sel, rs->rule[i].tags, sizeof(sel));
	const char *eq = strchr(sel, '=');
	if (!sel[0]) {
		rs->match[i] = SLA_TAGS_NONE;
	} else if (strcmp(sel, "*") == 0 || !eq) {
		rs->match[i] = SLA_TAGS_ANY;
	} else {
		snprintf(rs->tag_key[i], SLA_TAGS_MAX, "%.*s", (int)(eq - sel), sel);
		snprintf(rs->tag_value[i], SLA_TAGS_MAX, "%s", eq + 1);
		rs->match[i] = strcmp(eq + 1, "*") == 0 ? SLA_TAGS_KEY : SLA_TAGS_EXACT;
	}
}

int sla_ruleset_compile(struct sla_ruleset *rs, const struct sla_model *m, const struct sla_rule *rules, int n,
			char *err, size_t errlen)
{
	memset(rs->slot, -1, sizeof(rs->slot));
	rs->n = 0;
	for (int i = 0; i < n; i++) {
		const struct sla_rule *r = &rules[i];
		int node = bn_find_node(&m->net, r->node);
		if (node < 0 || m->net.node[node].n_states != 3 || node == m->target) {
			snprintf(err, errlen, "line %d: thresholds for %s feed node %s, %s", r->line, r->metric, r->node,
				 node < 0 ? "which the SLA network does not have"
					  : "which is not a three-state (OK, WARNING, CRITICAL) evidence node");
			return -1;
		}
		rs->rule[rs->n] = *r;
		rs->node[rs->n] = node;
		compile_selector(rs, rs->n);
		unsigned h = metric_hash(r->metric);
		rs->next[rs->n] = rs->slot[h];
		rs->slot[h] = (signed char)rs->n;
		rs->n++;
	}
	return 0;
}

int sla_rule_level(const struct sla_rule *r, double value, int current, double hysteresis)
{
	/* Lower-is-worse rules are the mirror image. */
	double sign = r->critical < r->warning ? -1 : 1;
	double v = sign * value, w = sign * r->warning, c = sign * r->critical;
	int raw = v >= c ? SLA_CRITICAL : v >= w ? SLA_WARNING : SLA_OK;
	if (current < 0 || raw >= current)
		return raw;
	int held = v >= c - hysteresis * fabs(r->critical) ? SLA_CRITICAL
		 : v >= w - hysteresis * fabs(r->warning) ? SLA_WARNING
							   : SLA_OK;
	return held < current ? held : current;
}

static int tags_match(const struct sla_ruleset *rs, int i, const Vigil__Sample *s)
{
	switch (rs->match[i]) {
	case SLA_TAGS_NONE:
		return s->n_tags == 0;
	case SLA_TAGS_ANY:
		return 1;
	case SLA_TAGS_KEY:
	case SLA_TAGS_EXACT:
		for (size_t t = 0; t < s->n_tags; t++)
			if (strcmp(s->tags[t]->key, rs->tag_key[i]) == 0)
				return rs->match[i] == SLA_TAGS_KEY || strcmp(s->tags[t]->value, rs->tag_value[i]) == 0;
		return 0;
	}
	return 0;
}

/* The worst reading of each rule in this batch. */
struct readings {
	double value[SLA_MAX_RULES];
	const Vigil__Sample *sample[SLA_MAX_RULES];
};

static void collect(const struct sla_ruleset *rs, const Vigil__VmSamples *vm, uint32_t interval_ms,
		    struct readings *rd)
{
	double seconds = interval_ms > 0 ? interval_ms / 1000.0 : 1.0;
	double vcpus = vm->vcpus > 0 ? vm->vcpus : 1;
	for (int i = 0; i < rs->n; i++)
		rd->sample[i] = NULL;
	for (size_t k = 0; k < vm->n_samples; k++) {
		const Vigil__Sample *s = vm->samples[k];
		for (int i = rs->slot[metric_hash(s->metric)]; i >= 0; i = rs->next[i]) {
			const struct sla_rule *r = &rs->rule[i];
			if (strcmp(r->metric, s->metric) != 0 || !tags_match(rs, i, s))
				continue;
			double v = s->value;
			if (r->per_vcpu)
				v /= vcpus;
			if (r->per_second)
				v /= seconds;
			int lower_worse = r->critical < r->warning;
			if (!rd->sample[i] || (lower_worse ? v < rd->value[i] : v > rd->value[i])) {
				rd->value[i] = v;
				rd->sample[i] = s;
			}
		}
	}
}

/* A node's state from its rules' levels: worst, best or the rounded mean
 * of the rules that have one. */
static void combine_node(const struct sla_model *m, const struct sla_ruleset *rs, int node, const signed char *level,
			 const int *known, int *evidence, struct sla_driver *drv)
{
	int n = 0, sum = 0, chosen = -1;
	enum sla_combine how = m->combine[node];
	for (int i = 0; i < rs->n; i++) {
		if (rs->node[i] != node || !known[i])
			continue;
		n++;
		sum += level[i];
		if (chosen < 0 || (how == SLA_COMBINE_BEST ? level[i] < level[chosen] : level[i] > level[chosen]))
			chosen = i;
	}
	if (n == 0)
		return;
	evidence[node] = how == SLA_COMBINE_MEAN ? (int)lround((double)sum / n) : level[chosen];
	if (drv)
		drv[node].rule = chosen;
}

void sla_eval_levels(const struct sla_model *m, const struct sla_ruleset *rs, double hysteresis,
		     const Vigil__VmSamples *vm, uint32_t interval_ms, signed char *levels, int *evidence,
		     struct sla_driver *drivers)
{
	struct readings rd;
	int known[SLA_MAX_RULES];
	int nodes_seen[BN_MAX_NODES] = { 0 };
	collect(rs, vm, interval_ms, &rd);
	for (int i = 0; i < rs->n; i++) {
		const struct sla_rule *r = &rs->rule[i];
		known[i] = 1;
		if (rd.sample[i]) {
			levels[i] = (signed char)sla_rule_level(r, rd.value[i], levels[i], hysteresis);
		} else if (r->absent == SLA_ABSENT_OK) {
			levels[i] = SLA_OK;
		} else {
			known[i] = 0; /* keeps its hysteresis memory for the next reading */
		}
		if (!nodes_seen[rs->node[i]]) {
			nodes_seen[rs->node[i]] = 1;
			evidence[rs->node[i]] = -1;
			if (drivers)
				drivers[rs->node[i]].rule = -1;
		}
	}
	for (int node = 0; node < m->net.n_nodes; node++)
		if (nodes_seen[node])
			combine_node(m, rs, node, levels, known, evidence, drivers);
	for (int node = 0; drivers && node < m->net.n_nodes; node++) {
		struct sla_driver *d = &drivers[node];
		if (!nodes_seen[node] || d->rule < 0)
			continue;
		const struct sla_rule *r = &rs->rule[d->rule];
		d->sample = rd.sample[d->rule];
		d->value = d->sample ? rd.value[d->rule] : 0;
		d->threshold = levels[d->rule] == SLA_CRITICAL ? r->critical
			     : levels[d->rule] == SLA_WARNING  ? r->warning
								: 0;
	}
}

int sla_p_violation(const struct sla_model *m, const int *evidence, double *p, char *err, size_t errlen)
{
	double post[BN_MAX_STATES];
	if (bn_posterior(&m->net, evidence, m->target, post, err, errlen) < 0)
		return -1;
	*p = post[m->violated];
	return 0;
}

static int cause_cmp(const void *a, const void *b)
{
	const struct sla_cause *x = a, *y = b;
	if (x->p_if_healthy != y->p_if_healthy)
		return x->p_if_healthy < y->p_if_healthy ? -1 : 1;
	return x->node - y->node;
}

int sla_rank_causes(const struct sla_model *m, const int *evidence, struct sla_cause *out)
{
	int ev[BN_MAX_NODES], n = 0;
	memcpy(ev, evidence, sizeof(int) * (size_t)m->net.n_nodes);
	for (int i = 0; i < m->net.n_nodes; i++) {
		if (i == m->target || evidence[i] <= 0)
			continue;
		char err[128];
		double p;
		ev[i] = 0;
		if (sla_p_violation(m, ev, &p, err, sizeof(err)) == 0)
			out[n++] = (struct sla_cause){ .node = i, .state = evidence[i], .p_if_healthy = p };
		ev[i] = evidence[i];
	}
	qsort(out, (size_t)n, sizeof(*out), cause_cmp);
	return n;
}
