/* Rendering `vigilctl status` as a table or as JSON. */
#ifndef VIGIL_STATUS_VIEW_H
#define VIGIL_STATUS_VIEW_H

#include <stdio.h>

#include "vigil.pb-c.h"

void status_print_table(FILE *f, const Vigil__StatusReply *r);

/* 0, or -1 if the JSON could not be built (out of memory). */
int status_print_json(FILE *f, const Vigil__StatusReply *r);

#endif
