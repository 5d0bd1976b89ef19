/* vigil-collector's configuration file (libconfig syntax, with comments).
 * The commented reference is collector/vigil-collector.conf. Top-level
 * settings mirror the command line, which wins when both give a value;
 * each subsystem reads and validates its own group ("storage", "sla"). */
#ifndef VIGIL_COLLECTOR_CONFIG_H
#define VIGIL_COLLECTOR_CONFIG_H

#include <libconfig.h>
#include <stddef.h>

#include "collector_args.h"
#include "conffile.h"


/* Applies the top-level settings to a, except those given on the command
 * line, and rejects unknown top-level names so a typo is not silently
 * ignored. 0, or -1 with a message in err. */
int collector_config_apply(const config_t *cfg, struct collector_args *a, char *err, size_t errlen);

#endif
