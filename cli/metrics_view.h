/* `vigilctl metrics`: the metric catalogue this vigilctl was built with
 * (schema/metrics.tsv), as a table or as JSON. */
#ifndef VIGIL_METRICS_VIEW_H
#define VIGIL_METRICS_VIEW_H

#include <stdio.h>

#include "catalogue.h"

void metrics_print_table(FILE *f, const struct metric_def *defs, unsigned n);

/* Returns 0, or -1 if the JSON could not be built. */
int metrics_print_json(FILE *f, const struct metric_def *defs, unsigned n);

#endif
