#include "storage_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "timeparse.h"

void storage_config_defaults(struct storage_config *c)
{
	memset(c, 0, sizeof(*c));
	c->retention_ms[TIER_RAW] = STORAGE_DEFAULT_RETENTION_RAW;
	c->retention_ms[TIER_1M] = STORAGE_DEFAULT_RETENTION_1M;
	c->retention_ms[TIER_1H] = STORAGE_DEFAULT_RETENTION_1H;
	c->commit_max_ms = STORAGE_DEFAULT_COMMIT_MAX_MS;
	c->flush_bytes = STORAGE_DEFAULT_FLUSH_BYTES;
	c->flush_ms = STORAGE_DEFAULT_FLUSH_MS;
}

void storage_config_free(struct storage_config *c)
{
	free(c->deadbands);
	c->deadbands = NULL;
	c->n_deadbands = 0;
}

static int bad(char *err, size_t errlen, const config_setting_t *s, const char *what)
{
	snprintf(err, errlen, "line %d: storage: %s", config_setting_source_line(s), what);
	return -1;
}

static int only_names(const config_setting_t *group, const char *const *names, char *err, size_t errlen)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *const *n = names;
		while (*n && strcmp(*n, config_setting_name(s)) != 0)
			n++;
		if (!*n) {
			char what[160];
			snprintf(what, sizeof(what), "unknown setting '%s'", config_setting_name(s));
			return bad(err, errlen, s, what);
		}
	}
	return 0;
}

static int duration_setting(const config_setting_t *s, int64_t *out, char *err, size_t errlen)
{
	const char *text = config_setting_get_string(s);
	if (!text || timeparse_duration_ms(text, out) < 0) {
		char what[200];
		snprintf(what, sizeof(what), "'%s' must be a duration such as \"90s\", \"10m\", \"14d\" or \"2y\"",
			 config_setting_name(s));
		return bad(err, errlen, s, what);
	}
	return 0;
}

static int number_setting(const config_setting_t *s, double *out)
{
	int t = config_setting_type(s);
	if (t == CONFIG_TYPE_FLOAT)
		*out = config_setting_get_float(s);
	else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
		*out = (double)config_setting_get_int64(s);
	else
		return -1;
	return isfinite(*out) ? 0 : -1;
}

static int read_retention(const config_setting_t *g, struct storage_config *c, char *err, size_t errlen)
{
	static const char *const names[] = { "raw", "minute", "hour", NULL };
	if (!config_setting_is_group(g))
		return bad(err, errlen, g, "'retention' must be a group: retention = { raw = \"14d\"; ... };");
	if (only_names(g, names, err, errlen) < 0)
		return -1;
	for (int t = 0; t < TIER_COUNT; t++) {
		const config_setting_t *s = config_setting_get_member(g, names[t]);
		if (s && duration_setting(s, &c->retention_ms[t], err, errlen) < 0)
			return -1;
	}
	/* Each tier is built from the finer one, so it must outlive it, and
	 * the raw tier must hold at least a few hours for rebuilding buckets. */
	if (c->retention_ms[TIER_RAW] < 2 * tier_resolution_ms[TIER_1H] ||
	    c->retention_ms[TIER_1M] < c->retention_ms[TIER_RAW] || c->retention_ms[TIER_1H] < c->retention_ms[TIER_1M])
		return bad(err, errlen, g, "retention must satisfy 2h <= raw <= minute <= hour");
	return 0;
}

static int read_deadband(const config_setting_t *e, struct deadband *d, char *err, size_t errlen)
{
	static const char *const names[] = { "metric", "absolute", "relative", NULL };
	const char *metric = NULL;
	if (!config_setting_is_group(e))
		return bad(err, errlen, e, "each deadband is a group: { metric = \"cpu.used_pct\"; absolute = 0.5; }");
	if (only_names(e, names, err, errlen) < 0)
		return -1;
	if (!config_setting_lookup_string(e, "metric", &metric) || strlen(metric) >= sizeof(d->metric))
		return bad(err, errlen, e, "a deadband needs metric = \"NAME\"");
	const struct metric_def *def = catalogue_find(metric);
	char what[200];
	if (!def) {
		snprintf(what, sizeof(what), "deadband for '%s': no such metric in the catalogue (vigilctl metrics)",
			 metric);
		return bad(err, errlen, e, what);
	}
	if (strcmp(def->kind, "gauge") != 0) {
		snprintf(what, sizeof(what), "deadband for '%s': it is a %s, and only gauges may have one "
			 "(counts and states stay exact)", metric, def->kind);
		return bad(err, errlen, e, what);
	}
	snprintf(d->metric, sizeof(d->metric), "%s", metric);
	const config_setting_t *a = config_setting_get_member(e, "absolute");
	const config_setting_t *r = config_setting_get_member(e, "relative");
	if ((a != NULL) == (r != NULL))
		return bad(err, errlen, e, "a deadband has exactly one of absolute = X or relative = X");
	double v;
	if (number_setting(a ? a : r, &v) < 0 || v <= 0 || (r && v >= 1))
		return bad(err, errlen, a ? a : r,
			   "deadband: absolute must be a number > 0; relative a fraction in (0, 1), e.g. 0.01");
	if (a)
		d->absolute = v;
	else
		d->relative = v;
	return 0;
}

static int read_deadbands(const config_setting_t *l, struct storage_config *c, char *err, size_t errlen)
{
	if (!config_setting_is_list(l) && !config_setting_is_array(l))
		return bad(err, errlen, l, "'deadband' must be a list: deadband = ( { metric = ...; absolute = ...; } );");
	int n = config_setting_length(l);
	c->deadbands = calloc(n ? (size_t)n : 1, sizeof(*c->deadbands));
	if (!c->deadbands)
		return bad(err, errlen, l, "out of memory");
	for (int i = 0; i < n; i++) {
		struct deadband *d = &c->deadbands[i];
		if (read_deadband(config_setting_get_elem(l, (unsigned)i), d, err, errlen) < 0)
			return -1;
		if (storage_deadband(c, d->metric))
			return bad(err, errlen, config_setting_get_elem(l, (unsigned)i), "metric given two deadbands");
		c->n_deadbands++;
	}
	return 0;
}

static int read_limits(const config_setting_t *g, struct storage_config *c, char *err, size_t errlen)
{
	const config_setting_t *s;
	int v;
	if ((s = config_setting_get_member(g, "commit_max_ms"))) {
		v = config_setting_get_int(s);
		if (config_setting_type(s) != CONFIG_TYPE_INT || v < 1 || v > 10000)
			return bad(err, errlen, s, "commit_max_ms must be a whole number of ms, 1-10000");
		c->commit_max_ms = (uint32_t)v;
	}
	if ((s = config_setting_get_member(g, "flush_journal_mb"))) {
		v = config_setting_get_int(s);
		if (config_setting_type(s) != CONFIG_TYPE_INT || v < 1 || v > 4096)
			return bad(err, errlen, s, "flush_journal_mb must be 1-4096");
		c->flush_bytes = (uint64_t)v << 20;
	}
	if ((s = config_setting_get_member(g, "flush_interval")) && duration_setting(s, &c->flush_ms, err, errlen) < 0)
		return -1;
	return 0;
}

int storage_config_read(const config_t *cfg, struct storage_config *c, char *err, size_t errlen)
{
	static const char *const names[] = { "retention", "deadband", "commit_max_ms", "flush_journal_mb",
					     "flush_interval", NULL };
	storage_config_defaults(c);
	const config_setting_t *g = config_lookup(cfg, "storage");
	if (!g)
		return 0;
	if (!config_setting_is_group(g))
		return bad(err, errlen, g, "'storage' must be a group: storage = { ... };");
	const config_setting_t *s;
	if (only_names(g, names, err, errlen) < 0 || read_limits(g, c, err, errlen) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "retention")) && read_retention(s, c, err, errlen) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "deadband")) && read_deadbands(s, c, err, errlen) < 0)
		return -1;
	return 0;
}

const struct deadband *storage_deadband(const struct storage_config *c, const char *metric)
{
	for (size_t i = 0; i < c->n_deadbands; i++)
		if (strcmp(c->deadbands[i].metric, metric) == 0)
			return &c->deadbands[i];
	return NULL;
}

int deadband_accepts(const struct deadband *db, double stored, double v)
{
	if (v == stored)
		return 1;
	if (!db)
		return 0;
	double diff = fabs(v - stored);
	if (db->absolute > 0)
		return diff <= db->absolute;
	return diff <= db->relative * fabs(stored);
}
