/* vigilctl's command line: `vigilctl [OPTIONS] COMMAND [ARGS]`. */
#ifndef VIGIL_CTL_ARGS_H
#define VIGIL_CTL_ARGS_H

#include <stdio.h>

#include "cli.h"

enum ctl_command { CTL_STATUS, CTL_METRICS, CTL_SLA, CTL_ALERTS, CTL_AVAILABILITY };

struct ctl_args {
	enum ctl_command command;
	const char *collector;  /* nng URL, used unless db is set */
	const char *db;         /* read this SQLite file directly */
	int json;
	int timeout_ms;
};

enum args_result ctl_args_parse(int argc, char **argv, struct ctl_args *a, FILE *out, FILE *err);

#endif
