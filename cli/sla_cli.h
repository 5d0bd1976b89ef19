/* vigilctl's SLA commands: `sla infer|train|explain`, `alerts` and
 * `availability`. The global options (--collector, --db, --json,
 * --timeout) are parsed by ctl_args; these commands take their own options
 * after the command word, and accept the global ones there too. */
#ifndef VIGIL_SLA_CLI_H
#define VIGIL_SLA_CLI_H

#include <stdint.h>

#include "ctl_args.h"

/* Index in argv of the command word when it is one of these commands, so
 * main can hand ctl_args_parse only what comes before; 0 otherwise. */
int sla_cli_command_index(int argc, char **argv);

/* Runs the command; argv[0] is the command word. Returns the exit code. */
int sla_cli_run(const struct ctl_args *global, int argc, char **argv);

/* "90s", "30m", "12h", "30d", "2w" (or a bare number of seconds). 0 or -1. */
int sla_parse_duration_ms(const char *text, int64_t *out);

/* A point in time: a duration ago ("2h"), "now", Unix seconds,
 * "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM[:SS][Z]" (UTC). 0 or -1. */
int sla_parse_time_ms(const char *text, int64_t now_ms, int64_t *out);

#endif
