/* vigil-collector's command line. */
#ifndef VIGIL_COLLECTOR_ARGS_H
#define VIGIL_COLLECTOR_ARGS_H

#include <stdio.h>

#include "cli.h"

#define VIGIL_DEFAULT_DB "/var/lib/vigil/vigil.db"

struct collector_args {
	const char *listen;
	const char *db;
	int log_level;
};

/* Fills a from argv; help and errors are written to out / err. */
enum args_result collector_args_parse(int argc, char **argv, struct collector_args *a, FILE *out, FILE *err);

#endif
