/* vigil-collector's command line. */
#ifndef VIGIL_COLLECTOR_ARGS_H
#define VIGIL_COLLECTOR_ARGS_H

#include <stdio.h>

#include "cli.h"
#include "defaults.h"


/* Which options the command line gave, so the config file does not
 * override them. */
enum { ARG_SET_LISTEN = 1, ARG_SET_DB = 2, ARG_SET_LOG_LEVEL = 4, ARG_SET_WORKERS = 8 };

struct collector_args {
	const char *listen;
	const char *db;
	const char *config;  /* config file; VIGIL_DEFAULT_CONFIG unless given */
	int config_required; /* given with --config: it must exist */
	int log_level;
	unsigned workers;    /* threads that decode requests and answer queries */
	unsigned set_on_cli; /* ARG_SET_* */
};

/* Fills a from argv; help and errors are written to out / err. */
enum args_result collector_args_parse(int argc, char **argv, struct collector_args *a, FILE *out, FILE *err);

#endif
