#include "sla_config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* The defaults, for a KVM fleet: CPU per vCPU (saturation and steal), the
 * host paging the VM's memory in, disk latency tails and dropped frames. */
static const struct sla_rule default_rules[] = {
	{ .node = "PROCESSING", .metric = "cpu.used_pct", .tags = "", .warning = 85, .critical = 95, .per_vcpu = 1 },
	{ .node = "PROCESSING", .metric = "cpu.wait_pct", .tags = "", .warning = 10, .critical = 25, .per_vcpu = 1 },
	{ .node = "MEMORY", .metric = "mem.major_faults", .tags = "", .warning = 20, .critical = 200, .per_second = 1 },
	{ .node = "STORAGE", .metric = "disk.read_lat_p99_us", .tags = "*", .warning = 20000, .critical = 100000,
	  .absent = SLA_ABSENT_OK },
	{ .node = "STORAGE", .metric = "disk.write_lat_p99_us", .tags = "*", .warning = 20000, .critical = 100000,
	  .absent = SLA_ABSENT_OK },
	{ .node = "BANDWIDTH", .metric = "net.rx_drops", .tags = "*", .warning = 1, .critical = 50, .per_second = 1,
	  .absent = SLA_ABSENT_OK },
	{ .node = "BANDWIDTH", .metric = "net.tx_drops", .tags = "*", .warning = 1, .critical = 50, .per_second = 1,
	  .absent = SLA_ABSENT_OK },
};

void sla_config_defaults(struct sla_config *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = 1;
	snprintf(c->target, sizeof(c->target), "SLA");
	snprintf(c->violated, sizeof(c->violated), "VIOLATED");
	snprintf(c->host_node, sizeof(c->host_node), "HOST");
	c->hysteresis = 0.1;
	c->alert_level = 0.5;
	c->clear_level = 0.4;
	c->alert_after = 3;
	c->clear_after = 3;
	c->stale_intervals = 3;
	c->forget_after_s = 3600;
	snprintf(c->slo, sizeof(c->slo), "HOST=DOWN");
	c->hook_timeout_s = 30;
	c->n_rules = (int)(sizeof(default_rules) / sizeof(default_rules[0]));
	for (int i = 0; i < c->n_rules; i++) {
		c->rules[i] = default_rules[i];
		c->rules[i].enabled = 1;
	}
}

static int cfg_fail(char *err, size_t errlen, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cfg_fail(char *err, size_t errlen, const config_setting_t *s, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "line %d: %s", s ? config_setting_source_line(s) : 0, what);
	return -1;
}

/* Rejects member names outside known, so a typo is not silently ignored. */
static int only_known(const config_setting_t *group, const char *where, const char *const *known, char *err,
		      size_t errlen)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(m);
		int ok = 0;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcmp(*k, name) == 0;
		if (!ok)
			return cfg_fail(err, errlen, m, "unknown setting '%s' in %s", name, where);
	}
	return 0;
}

/* A number (integer or float); *found says whether it was there. */
static int get_number(const config_setting_t *g, const char *name, const char *where, double *out, char *err,
		      size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	if (!s)
		return 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		*out = (double)config_setting_get_int64(s);
		return 1;
	case CONFIG_TYPE_FLOAT:
		*out = config_setting_get_float(s);
		return 1;
	default:
		return cfg_fail(err, errlen, s, "%s.%s must be a number", where, name);
	}
}

static int get_int(const config_setting_t *g, const char *name, const char *where, long min, long max, int *out,
		   char *err, size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	if (!s)
		return 0;
	int t = config_setting_type(s);
	long long v = config_setting_get_int64(s);
	if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) || v < min || v > max)
		return cfg_fail(err, errlen, s, "%s.%s must be a whole number from %ld to %ld", where, name, min, max);
	*out = (int)v;
	return 1;
}

static int get_prob(const config_setting_t *g, const char *name, const char *where, double *out, char *err,
		    size_t errlen)
{
	int rc = get_number(g, name, where, out, err, errlen);
	if (rc == 1 && !(*out > 0 && *out < 1))
		return cfg_fail(err, errlen, config_setting_get_member(g, name), "%s.%s must be above 0 and below 1",
				where, name);
	return rc;
}

static int get_bool(const config_setting_t *g, const char *name, const char *where, int *out, char *err,
		    size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cfg_fail(err, errlen, s, "%s.%s must be true or false", where, name);
	*out = config_setting_get_bool(s);
	return 1;
}

static int get_string(const config_setting_t *g, const char *name, const char *where, char *out, size_t outlen,
		      char *err, size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	if (!s)
		return 0;
	const char *v = config_setting_get_string(s);
	if (!v)
		return cfg_fail(err, errlen, s, "%s.%s must be a string", where, name);
	if (strlen(v) >= outlen)
		return cfg_fail(err, errlen, s, "%s.%s is longer than %zu characters", where, name, outlen - 1);
	memcpy(out, v, strlen(v) + 1);
	return 1;
}

static int valid_node_name(const char *s)
{
	if (!isalpha((unsigned char)s[0]))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* "", "*", "KEY=*" or "KEY=VALUE". */
static int valid_tag_selector(const char *s)
{
	if (!s[0] || strcmp(s, "*") == 0)
		return 1;
	const char *eq = strchr(s, '=');
	if (!eq || eq == s || !eq[1] || strchr(eq + 1, '=') || strchr(s, ','))
		return 0;
	for (const char *k = s; k < eq; k++)
		if (!(islower((unsigned char)*k) || isdigit((unsigned char)*k) || *k == '_' || *k == '.'))
			return 0;
	return 1;
}

static int rule_fields(const config_setting_t *g, struct sla_rule *r, char *err, size_t errlen)
{
	static const char *const known[] = { "node",	   "metric", "tags",   "warning", "critical",
					     "per_vcpu", "per_second", "absent", "enabled", NULL };
	char absent[16] = "";
	if (only_known(g, "a thresholds entry", known, err, errlen) < 0 ||
	    get_string(g, "node", "thresholds", r->node, sizeof(r->node), err, errlen) < 0 ||
	    get_string(g, "tags", "thresholds", r->tags, sizeof(r->tags), err, errlen) < 0 ||
	    get_number(g, "warning", "thresholds", &r->warning, err, errlen) < 0 ||
	    get_number(g, "critical", "thresholds", &r->critical, err, errlen) < 0 ||
	    get_bool(g, "per_vcpu", "thresholds", &r->per_vcpu, err, errlen) < 0 ||
	    get_bool(g, "per_second", "thresholds", &r->per_second, err, errlen) < 0 ||
	    get_bool(g, "enabled", "thresholds", &r->enabled, err, errlen) < 0 ||
	    get_string(g, "absent", "thresholds", absent, sizeof(absent), err, errlen) < 0)
		return -1;
	if (absent[0] && strcmp(absent, "ok") != 0 && strcmp(absent, "unknown") != 0)
		return cfg_fail(err, errlen, config_setting_get_member(g, "absent"),
				"thresholds.absent must be \"ok\" or \"unknown\"");
	if (absent[0])
		r->absent = strcmp(absent, "ok") == 0 ? SLA_ABSENT_OK : SLA_ABSENT_UNKNOWN;
	if (!valid_tag_selector(r->tags))
		return cfg_fail(err, errlen, config_setting_get_member(g, "tags"),
				"thresholds.tags '%s': want \"\" (untagged), \"*\", \"KEY=*\" or \"KEY=VALUE\"", r->tags);
	return 0;
}

static int check_rule(const config_setting_t *g, const struct sla_rule *r, char *err, size_t errlen)
{
	if (!r->node[0])
		return cfg_fail(err, errlen, g, "thresholds entry for %s needs node = \"NODE\"", r->metric);
	if (!valid_node_name(r->node))
		return cfg_fail(err, errlen, g, "thresholds.node '%s' is not a node name", r->node);
	if (r->warning == r->critical)
		return cfg_fail(err, errlen, g,
				"thresholds for %s: warning and critical must differ "
				"(critical below warning means lower values are worse)",
				r->metric);
	return 0;
}

/* Reads one entry of a thresholds list. base holds the global rules an
 * override entry modifies (NULL for the global list itself). */
static int read_rule(const config_setting_t *g, const struct sla_rule *base, int n_base, struct sla_rule *out,
		     char *err, size_t errlen)
{
	char metric[SLA_METRIC_MAX] = "", tags[SLA_TAGS_MAX] = "";
	if (!config_setting_is_group(g))
		return cfg_fail(err, errlen, g, "each thresholds entry is a group { metric = ...; ... }");
	if (get_string(g, "metric", "thresholds", metric, sizeof(metric), err, errlen) < 0 ||
	    get_string(g, "tags", "thresholds", tags, sizeof(tags), err, errlen) < 0)
		return -1;
	if (!wire_valid_metric(metric))
		return cfg_fail(err, errlen, g, "thresholds entry needs metric = \"NAME\" (a catalogue name)");
	int found = -1;
	for (int i = 0; i < n_base && found < 0; i++)
		if (strcmp(base[i].metric, metric) == 0 && strcmp(base[i].tags, tags) == 0)
			found = i;
	int have_w = config_setting_get_member(g, "warning") != NULL;
	int have_c = config_setting_get_member(g, "critical") != NULL;
	if (found >= 0) {
		*out = base[found];
	} else {
		memset(out, 0, sizeof(*out));
		out->enabled = 1;
		if (!have_w || !have_c)
			return cfg_fail(err, errlen, g, "thresholds entry for %s needs warning and critical", metric);
	}
	memcpy(out->metric, metric, sizeof(metric));
	out->line = config_setting_source_line(g);
	static const struct {
		const char *name;
		unsigned bit;
	} fields[] = { { "node", SLA_GIVEN_NODE },	       { "warning", SLA_GIVEN_WARNING },
		       { "critical", SLA_GIVEN_CRITICAL },     { "per_vcpu", SLA_GIVEN_PER_VCPU },
		       { "per_second", SLA_GIVEN_PER_SECOND }, { "absent", SLA_GIVEN_ABSENT },
		       { "enabled", SLA_GIVEN_ENABLED } };
	out->given = 0;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (config_setting_get_member(g, fields[i].name))
			out->given |= fields[i].bit;
	return rule_fields(g, out, err, errlen) < 0 ? -1 : check_rule(g, out, err, errlen);
}

/* Reads a thresholds list into rules (n in/out). An entry with the same
 * metric and tags as a rule of base starts from that rule (so an override
 * may give only new thresholds); one with the same metric and tags as an
 * earlier entry replaces it. */
static int read_rules(const config_setting_t *list, const struct sla_rule *base, int n_base, struct sla_rule *rules,
		      int *n, char *err, size_t errlen)
{
	if (!config_setting_is_list(list))
		return cfg_fail(err, errlen, list, "thresholds must be a list: ( { ... }, { ... } )");
	for (int i = 0; i < config_setting_length(list); i++) {
		struct sla_rule r;
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		if (read_rule(g, base, n_base, &r, err, errlen) < 0)
			return -1;
		int at = *n;
		for (int k = 0; k < *n; k++)
			if (strcmp(rules[k].metric, r.metric) == 0 && strcmp(rules[k].tags, r.tags) == 0)
				at = k;
		if (at == *n && *n == SLA_MAX_RULES)
			return cfg_fail(err, errlen, g, "more than %d thresholds", SLA_MAX_RULES);
		rules[at] = r;
		if (at == *n)
			(*n)++;
	}
	return 0;
}

/* hosts = ( { host = "NAME"; thresholds = ( ... ); }, ... ) and the same
 * for vms with vm = "NAME or UUID". Overrides are kept as the full rule
 * set they produce. */
static int read_overrides(const config_setting_t *sla, const char *list_name, const char *key,
			  const struct sla_config *c, struct sla_override **out, int *n_out, char *err, size_t errlen)
{
	const config_setting_t *list = config_setting_get_member(sla, list_name);
	if (!list)
		return 0;
	if (!config_setting_is_list(list))
		return cfg_fail(err, errlen, list, "sla.%s must be a list of groups", list_name);
	int n = config_setting_length(list);
	*out = calloc((size_t)(n ? n : 1), sizeof(**out));
	if (!*out)
		return cfg_fail(err, errlen, list, "out of memory");
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		const char *const known[] = { key, "thresholds", NULL };
		char name[256] = "";
		if (!config_setting_is_group(g) || only_known(g, list_name, known, err, errlen) < 0 ||
		    get_string(g, key, list_name, name, sizeof(name), err, errlen) < 0)
			return config_setting_is_group(g) ? -1
							  : cfg_fail(err, errlen, g, "each sla.%s entry is a group", list_name);
		if (!name[0])
			return cfg_fail(err, errlen, g, "each sla.%s entry needs %s = \"NAME\"", list_name, key);
		struct sla_override *o = &(*out)[(*n_out)++];
		o->name = strdup(name);
		o->rules = calloc(SLA_MAX_RULES, sizeof(*o->rules));
		if (!o->name || !o->rules)
			return cfg_fail(err, errlen, g, "out of memory");
		const config_setting_t *rules = config_setting_get_member(g, "thresholds");
		if (rules && read_rules(rules, c->rules, c->n_rules, o->rules, &o->n_rules, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int read_combine(const config_setting_t *sla, struct sla_config *c, char *err, size_t errlen)
{
	const config_setting_t *g = config_setting_get_member(sla, "combine");
	if (!g)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(err, errlen, g, "sla.combine must be a group: { NODE = \"worst\"; ... }");
	for (int i = 0; i < config_setting_length(g) && i < BN_MAX_NODES; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *how = config_setting_get_string(m);
		enum sla_combine h;
		if (how && strcmp(how, "worst") == 0)
			h = SLA_COMBINE_WORST;
		else if (how && strcmp(how, "best") == 0)
			h = SLA_COMBINE_BEST;
		else if (how && strcmp(how, "mean") == 0)
			h = SLA_COMBINE_MEAN;
		else
			return cfg_fail(err, errlen, m, "sla.combine.%s must be \"worst\", \"best\" or \"mean\"",
					config_setting_name(m));
		snprintf(c->combine[c->n_combine].node, BN_NAME_MAX, "%s", config_setting_name(m));
		c->combine[c->n_combine++].how = h;
	}
	return 0;
}

static int read_hook(const config_setting_t *sla, struct sla_config *c, char *err, size_t errlen)
{
	static const char *const known[] = { "command", "timeout", NULL };
	const config_setting_t *g = config_setting_get_member(sla, "hook");
	if (!g)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(err, errlen, g, "sla.hook must be a group: { command = \"...\"; timeout = 30; }");
	if (only_known(g, "sla.hook", known, err, errlen) < 0 ||
	    get_string(g, "command", "sla.hook", c->hook, sizeof(c->hook), err, errlen) < 0 ||
	    get_int(g, "timeout", "sla.hook", 1, 86400, &c->hook_timeout_s, err, errlen) < 0)
		return -1;
	return 0;
}

static int read_names(const config_setting_t *sla, struct sla_config *c, char *err, size_t errlen)
{
	if (get_string(sla, "model", "sla", c->model, sizeof(c->model), err, errlen) < 0 ||
	    get_string(sla, "target", "sla", c->target, sizeof(c->target), err, errlen) < 0 ||
	    get_string(sla, "violated", "sla", c->violated, sizeof(c->violated), err, errlen) < 0 ||
	    get_string(sla, "host_node", "sla", c->host_node, sizeof(c->host_node), err, errlen) < 0 ||
	    get_string(sla, "slo", "sla", c->slo, sizeof(c->slo), err, errlen) < 0)
		return -1;
	return 0;
}

static int read_alerting(const config_setting_t *sla, struct sla_config *c, char *err, size_t errlen)
{
	int tick_s = c->tick_ms / 1000;
	if (get_bool(sla, "enabled", "sla", &c->enabled, err, errlen) < 0 ||
	    get_int(sla, "tick", "sla", 0, 3600, &tick_s, err, errlen) < 0 ||
	    get_number(sla, "hysteresis", "sla", &c->hysteresis, err, errlen) < 0 ||
	    get_prob(sla, "alert_level", "sla", &c->alert_level, err, errlen) < 0 ||
	    get_prob(sla, "clear_level", "sla", &c->clear_level, err, errlen) < 0 ||
	    get_int(sla, "alert_after", "sla", 1, 1000, &c->alert_after, err, errlen) < 0 ||
	    get_int(sla, "clear_after", "sla", 1, 1000, &c->clear_after, err, errlen) < 0 ||
	    get_int(sla, "stale_after", "sla", 2, 1000, &c->stale_intervals, err, errlen) < 0 ||
	    get_int(sla, "forget_after", "sla", 60, 30 * 86400, &c->forget_after_s, err, errlen) < 0)
		return -1;
	c->tick_ms = tick_s * 1000;
	if (c->hysteresis < 0 || c->hysteresis >= 1)
		return cfg_fail(err, errlen, config_setting_get_member(sla, "hysteresis"),
				"sla.hysteresis must be at least 0 and below 1 (a fraction of each threshold)");
	if (c->clear_level > c->alert_level)
		return cfg_fail(err, errlen, sla, "sla.clear_level (%g) must not be above sla.alert_level (%g)",
				c->clear_level, c->alert_level);
	return 0;
}

int sla_config_read(const config_t *cfg, struct sla_config *c, char *err, size_t errlen)
{
	static const char *const known[] = { "enabled",	    "model",	   "target",	  "violated",	"host_node",
					     "tick",	    "hysteresis",  "alert_level", "clear_level", "alert_after",
					     "clear_after", "stale_after", "forget_after", "slo",	 "hook",
					     "combine",	    "thresholds",  "hosts",	  "vms",	NULL };
	sla_config_defaults(c);
	const config_setting_t *sla = config_lookup(cfg, "sla");
	if (!sla)
		return 0;
	if (!config_setting_is_group(sla))
		return cfg_fail(err, errlen, sla, "sla must be a group: sla = { ... };");
	if (only_known(sla, "sla", known, err, errlen) < 0 || read_names(sla, c, err, errlen) < 0 ||
	    read_alerting(sla, c, err, errlen) < 0 || read_hook(sla, c, err, errlen) < 0 ||
	    read_combine(sla, c, err, errlen) < 0)
		return -1;
	const config_setting_t *rules = config_setting_get_member(sla, "thresholds");
	if (rules) {
		/* A global list replaces the built-in rules rather than adding to them. */
		c->n_rules = 0;
		if (read_rules(rules, NULL, 0, c->rules, &c->n_rules, err, errlen) < 0)
			return -1;
	}
	if (read_overrides(sla, "hosts", "host", c, &c->hosts, &c->n_hosts, err, errlen) < 0 ||
	    read_overrides(sla, "vms", "vm", c, &c->vms, &c->n_vms, err, errlen) < 0)
		return -1;
	return 0;
}

void sla_config_free(struct sla_config *c)
{
	for (int i = 0; i < c->n_hosts; i++) {
		free(c->hosts[i].name);
		free(c->hosts[i].rules);
	}
	for (int i = 0; i < c->n_vms; i++) {
		free(c->vms[i].name);
		free(c->vms[i].rules);
	}
	free(c->hosts);
	free(c->vms);
	c->hosts = c->vms = NULL;
	c->n_hosts = c->n_vms = 0;
}

/* Copies the settings an override entry gives onto a rule, so a VM's
 * override changes only what it names, on top of its host's. */
static void merge_rule(struct sla_rule *dst, const struct sla_rule *o)
{
	if (o->given & SLA_GIVEN_NODE)
		memcpy(dst->node, o->node, sizeof(dst->node));
	if (o->given & SLA_GIVEN_WARNING)
		dst->warning = o->warning;
	if (o->given & SLA_GIVEN_CRITICAL)
		dst->critical = o->critical;
	if (o->given & SLA_GIVEN_PER_VCPU)
		dst->per_vcpu = o->per_vcpu;
	if (o->given & SLA_GIVEN_PER_SECOND)
		dst->per_second = o->per_second;
	if (o->given & SLA_GIVEN_ABSENT)
		dst->absent = o->absent;
	if (o->given & SLA_GIVEN_ENABLED)
		dst->enabled = o->enabled;
	dst->line = o->line;
}

/* Applies override rules to a rule set: same metric and tags are merged,
 * others are added. */
static int apply_override(const struct sla_override *o, struct sla_rule *rules, int n)
{
	for (int i = 0; i < o->n_rules; i++) {
		int at = n;
		for (int k = 0; k < n; k++)
			if (strcmp(rules[k].metric, o->rules[i].metric) == 0 && strcmp(rules[k].tags, o->rules[i].tags) == 0)
				at = k;
		if (at < n) {
			merge_rule(&rules[at], &o->rules[i]);
		} else if (n < SLA_MAX_RULES) {
			rules[n++] = o->rules[i];
		}
	}
	return n;
}

int sla_config_rules_for(const struct sla_config *c, const char *host, const char *vm_name, const char *vm_uuid,
			 struct sla_rule *out)
{
	int n = c->n_rules;
	memcpy(out, c->rules, sizeof(*out) * (size_t)n);
	for (int i = 0; i < c->n_hosts; i++)
		if (strcmp(c->hosts[i].name, host) == 0)
			n = apply_override(&c->hosts[i], out, n);
	for (int i = 0; i < c->n_vms; i++)
		if (strcmp(c->vms[i].name, vm_name) == 0 || strcmp(c->vms[i].name, vm_uuid) == 0)
			n = apply_override(&c->vms[i], out, n);
	/* Disabled rules drop out here, so evaluation never sees them. */
	int kept = 0;
	for (int i = 0; i < n; i++)
		if (out[i].enabled)
			out[kept++] = out[i];
	return kept;
}

enum sla_combine sla_config_combine(const struct sla_config *c, const char *node)
{
	for (int i = 0; i < c->n_combine; i++)
		if (strcmp(c->combine[i].node, node) == 0)
			return c->combine[i].how;
	return SLA_COMBINE_WORST;
}
