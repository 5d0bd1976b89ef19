#include "sla_rows.h"

#include <assert.h>
#include <stdlib.h>

#include "errmsg.h"

enum sla_row_stmt { ROW_MODEL, ROW_ALERT_OPEN, ROW_ALERT_PEAK, ROW_ALERT_CLOSE, ROW_COUNT };

static const char *const row_sql[ROW_COUNT] = {
	/* A collector restarted with the same network adds no row. */
	[ROW_MODEL] = "INSERT INTO sla_models (loaded_at, origin, target, violated, host_node, text) "
		      "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM (SELECT * FROM "
		      "sla_models ORDER BY id DESC LIMIT 1) WHERE text = ?6 AND target = ?3 AND "
		      "violated = ?4 AND host_node = ?5)",
	/* A NULL id lets SQLite choose the next one. */
	[ROW_ALERT_OPEN] = "INSERT INTO sla_alerts (id, host, vm, vm_uuid, t_start, peak, cause_node, cause_state, "
			   "cause_p, cause, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ROW_ALERT_PEAK] = "UPDATE sla_alerts SET peak = ?2, cause_node = ?3, cause_state = ?4, cause_p = ?5, "
			   "cause = ?6, evidence = ?7 WHERE id = ?1",
	/* An alert never ends before it starts (the table's CHECK). */
	[ROW_ALERT_CLOSE] = "UPDATE sla_alerts SET t_end = max(t_start, ?2) WHERE id = ?1",
};

struct sla_rows {
	sqlite3 *db;
	sqlite3_stmt *st[ROW_COUNT];
};

int sla_rows_open(struct sla_rows **out, sqlite3 *db, char *err, size_t errlen)
{
	struct sla_rows *r = calloc(1, sizeof(*r));
	if (!r)
		return errmsg_set(err, errlen, "out of memory");
	r->db = db;
	for (int i = 0; i < ROW_COUNT; i++) {
		if (sqlite3_prepare_v3(db, row_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL) != SQLITE_OK) {
			errmsg_set(err, errlen, "preparing the SLA statements: %s", sqlite3_errmsg(db));
			sla_rows_close(r);
			return -1;
		}
	}
	*out = r;
	return 0;
}

void sla_rows_close(struct sla_rows *r)
{
	if (!r)
		return;
	for (int i = 0; i < ROW_COUNT; i++)
		sqlite3_finalize(r->st[i]);
	free(r);
}

static sqlite3_stmt *stmt(struct sla_rows *r, enum sla_row_stmt id)
{
	sqlite3_stmt *st = r->st[id];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Steps st to its end; -1 with what and SQLite's message in err. */
static int run(struct sla_rows *r, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
	if (sqlite3_step(st) != SQLITE_DONE) {
		errmsg_set(err, errlen, "%s: %s", what, sqlite3_errmsg(r->db));
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

static void bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	sqlite3_bind_text(st, idx, s ? s : "", -1, SQLITE_STATIC);
}

int sla_rows_model(struct sla_rows *r, const struct sla_model_row *m, char *err, size_t errlen)
{
	assert(m->text);
	sqlite3_stmt *st = stmt(r, ROW_MODEL);
	sqlite3_bind_int64(st, 1, m->loaded_at_ms);
	bind_text(st, 2, m->origin);
	bind_text(st, 3, m->target);
	bind_text(st, 4, m->violated);
	bind_text(st, 5, m->host_node);
	sqlite3_bind_text(st, 6, m->text, (int)m->text_len, SQLITE_STATIC);
	return run(r, st, "recording the SLA model", err, errlen);
}

/* An alert's peak and what caused it, in six parameters from first on
 * (the same order in the open and the peak statements). */
static void bind_peak_and_cause(sqlite3_stmt *st, int first, const struct sla_alert_row *a)
{
	sqlite3_bind_double(st, first, a->peak);
	bind_text(st, first + 1, a->cause_node);
	bind_text(st, first + 2, a->cause_state);
	sqlite3_bind_double(st, first + 3, a->cause_p);
	bind_text(st, first + 4, a->cause);
	bind_text(st, first + 5, a->evidence);
}

int sla_rows_alert_open(struct sla_rows *r, struct sla_alert_row *a, char *err, size_t errlen)
{
	assert(a->id >= 0);
	sqlite3_stmt *st = stmt(r, ROW_ALERT_OPEN);
	if (a->id > 0)
		sqlite3_bind_int64(st, 1, a->id);
	bind_text(st, 2, a->host);
	bind_text(st, 3, a->vm);
	bind_text(st, 4, a->vm_uuid);
	sqlite3_bind_int64(st, 5, a->t_start_ms);
	bind_peak_and_cause(st, 6, a);
	if (run(r, st, "opening the alert", err, errlen) < 0)
		return -1;
	a->id = sqlite3_last_insert_rowid(r->db);
	return 0;
}

int sla_rows_alert_peak(struct sla_rows *r, const struct sla_alert_row *a, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(r, ROW_ALERT_PEAK);
	sqlite3_bind_int64(st, 1, a->id);
	bind_peak_and_cause(st, 2, a);
	return run(r, st, "updating the alert's peak", err, errlen);
}

int sla_rows_alert_close(struct sla_rows *r, const struct sla_alert_row *a, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(r, ROW_ALERT_CLOSE);
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_int64(st, 2, a->t_end_ms);
	return run(r, st, "closing the alert", err, errlen);
}
