/* Rendering `vigilctl history`, `hosts`, `vms` and `show` as tables, JSON
 * or CSV. */
#ifndef VIGIL_HISTORY_VIEW_H
#define VIGIL_HISTORY_VIEW_H

#include <stdio.h>

#include "vigil.pb-c.h"

enum view_format { VIEW_TABLE, VIEW_JSON, VIEW_CSV };

/* Each returns 0, or -1 if the output could not be built (out of memory). */
int history_print(FILE *f, const Vigil__HistoryReply *r, enum view_format fmt);
int hosts_print(FILE *f, const Vigil__HostsReply *r, enum view_format fmt);
int vms_print(FILE *f, const Vigil__VmsReply *r, enum view_format fmt);
int show_print(FILE *f, const Vigil__ShowReply *r, enum view_format fmt);

/* A CSV field, quoted when it holds a comma, quote or line break. */
void csv_field(FILE *f, const char *s);

#endif
