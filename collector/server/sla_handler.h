/* The collector's handler for the SLA queries. */
#ifndef VIGIL_SLA_HANDLER_H
#define VIGIL_SLA_HANDLER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.pb-c.h"

/* Answers an explain, alerts or availability request into a malloc'd
 * packed reply; db is the calling worker's read-only connection. */
int sla_server_handle(sqlite3 *db, const Vigil__Envelope *env, uint8_t **reply, size_t *reply_len);

#endif
