/* The SQL of the SLA checks' rows (sla_row_types.h), run by the writer
 * thread (store.c) on its own connection inside its open group commit.
 * Nothing else calls these: every other connection is read-only. */
#ifndef VIGIL_SLA_ROWS_H
#define VIGIL_SLA_ROWS_H

#include <sqlite3.h>
#include <stddef.h>

#include "sla_row_types.h"

struct sla_rows;

/* Prepares the statements on db, the writer's connection, whose schema is
 * up to date. 0, or -1 with a message in err. */
int sla_rows_open(struct sla_rows **out, sqlite3 *db, char *err, size_t errlen);
/* NULL is allowed. Before db is closed. */
void sla_rows_close(struct sla_rows *r);

/* Each runs one statement inside the writer's open transaction: 0, or -1
 * with a message in err. A failed statement leaves the transaction open
 * unless SQLite rolled it back (sqlite3_get_autocommit then says so). */
int sla_rows_model(struct sla_rows *r, const struct sla_model_row *m, char *err, size_t errlen);
/* Sets a->id to the new row's id. */
int sla_rows_alert_open(struct sla_rows *r, struct sla_alert_row *a, char *err, size_t errlen);
int sla_rows_alert_peak(struct sla_rows *r, const struct sla_alert_row *a, char *err, size_t errlen);
int sla_rows_alert_close(struct sla_rows *r, const struct sla_alert_row *a, char *err, size_t errlen);

#endif
