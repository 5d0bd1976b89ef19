/* Rendering `vigilctl sla explain`, `alerts` and `availability` as tables
 * or JSON. */
#ifndef VIGIL_SLA_VIEW_H
#define VIGIL_SLA_VIEW_H

#include <stdio.h>

#include "vigil.pb-c.h"

void sla_explain_print_table(FILE *f, const Vigil__SlaExplainReply *r);
int sla_explain_print_json(FILE *f, const Vigil__SlaExplainReply *r);

void sla_alerts_print_table(FILE *f, const Vigil__AlertsReply *r);
int sla_alerts_print_json(FILE *f, const Vigil__AlertsReply *r);

void sla_availability_print_table(FILE *f, const Vigil__AvailabilityReply *r);
int sla_availability_print_json(FILE *f, const Vigil__AvailabilityReply *r);

/* "2025-01-02T03:04:05Z" (UTC), or "-" for 0. */
void sla_format_time(char *buf, size_t len, int64_t ms);

#endif
