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

#endif
