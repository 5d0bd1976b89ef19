#include "history.h"

#include <stdio.h>

static const char scan_sql[] =
	"SELECT host, vm, vm_uuid, metric, layer, unit, tags, t_start, t_end, value FROM interval_rows "
	"WHERE (?1 IS NULL OR host = ?1) AND (?2 IS NULL OR vm = ?2 OR vm_uuid = ?2) "
	"AND (?3 IS NULL OR metric = ?3) AND (?4 IS NULL OR tags = ?4) "
	"AND t_end >= ?5 AND t_start <= ?6 "
	"ORDER BY host, vm, metric, tags, t_start";

static const char *text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}

static void bind_optional(sqlite3_stmt *st, int idx, const char *value)
{
	if (value)
		sqlite3_bind_text(st, idx, value, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, idx);
}

static void row_from(sqlite3_stmt *st, struct history_row *r)
{
	r->host = text(st, 0);
	r->vm = text(st, 1);
	r->vm_uuid = text(st, 2);
	r->metric = text(st, 3);
	r->layer = text(st, 4);
	r->unit = text(st, 5);
	r->tags = text(st, 6);
	r->t_start_ms = sqlite3_column_int64(st, 7);
	r->t_end_ms = sqlite3_column_int64(st, 8);
	r->value = sqlite3_column_double(st, 9);
}

int history_scan(sqlite3 *db, const struct history_filter *f, history_cb cb, void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, scan_sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "history query: %s", sqlite3_errmsg(db));
		return -1;
	}
	bind_optional(st, 1, f->host);
	bind_optional(st, 2, f->vm);
	bind_optional(st, 3, f->metric);
	bind_optional(st, 4, f->tags);
	sqlite3_bind_int64(st, 5, f->since_ms);
	sqlite3_bind_int64(st, 6, f->until_ms);
	int rc, stopped = 0;
	while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct history_row r;
		row_from(st, &r);
		stopped = cb(&r, arg);
	}
	if (!stopped && rc != SQLITE_DONE) {
		snprintf(err, errlen, "history query: %s", sqlite3_errmsg(db));
		stopped = -1;
	}
	sqlite3_finalize(st);
	return stopped;
}
