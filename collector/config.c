#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "defaults.h"
#include "server.h"

/* Top-level names the file may hold; groups belong to their subsystems. */
static const char *const known_names[] = { "listen", "db", "log_level", "workers", "storage", "sla", NULL };

static int known_name(const char *name)
{
	for (const char *const *k = known_names; *k; k++)
		if (strcmp(*k, name) == 0)
			return 1;
	return 0;
}

/* A top-level string setting, or the current value when absent. */
static int string_setting(const config_t *cfg, const char *name, const char **value, char *err, size_t errlen)
{
	const config_setting_t *s = config_lookup(cfg, name);
	if (!s)
		return 0;
	const char *v = config_setting_get_string(s);
	if (!v || !v[0]) {
		snprintf(err, errlen, "line %d: '%s' must be a non-empty string", config_setting_source_line(s), name);
		return -1;
	}
	*value = v;
	return 0;
}

int collector_config_apply(const config_t *cfg, struct collector_args *a, char *err, size_t errlen)
{
	const config_setting_t *root = config_root_setting(cfg);
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		if (!known_name(config_setting_name(s))) {
			snprintf(err, errlen, "line %d: unknown setting '%s'", config_setting_source_line(s),
				 config_setting_name(s));
			return -1;
		}
	}
	const char *listen = a->listen, *db = a->db, *level = NULL;
	if (string_setting(cfg, "listen", &listen, err, errlen) < 0 ||
	    string_setting(cfg, "db", &db, err, errlen) < 0 ||
	    string_setting(cfg, "log_level", &level, err, errlen) < 0)
		return -1;
	if (!(a->set_on_cli & ARG_SET_LISTEN))
		a->listen = listen;
	if (!(a->set_on_cli & ARG_SET_DB))
		a->db = db;
	const config_setting_t *w = config_lookup(cfg, "workers");
	if (w && !(a->set_on_cli & ARG_SET_WORKERS)) {
		int v = config_setting_get_int(w);
		if (config_setting_type(w) != CONFIG_TYPE_INT || v < 1 || v > SERVER_MAX_WORKERS) {
			snprintf(err, errlen, "line %d: 'workers' must be a whole number, 1-%d", config_setting_source_line(w),
				 SERVER_MAX_WORKERS);
			return -1;
		}
		a->workers = (unsigned)v;
	}
	if (level && !(a->set_on_cli & ARG_SET_LOG_LEVEL)) {
		int lvl = cli_parse_log_level(level);
		if (lvl < 0) {
			snprintf(err, errlen, "log_level '%s': use error, warning, info or debug", level);
			return -1;
		}
		a->log_level = lvl;
	}
	return 0;
}
