#include "segtable.h"

#include <string.h>

#include "errmsg.h"

static const char *const segtable_sql[SEGT_COUNT] = {
	[SEGT_INSERT] = "INSERT INTO segments (vm_id, tier, t_first, t_last, data) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SEGT_HOUR] = "SELECT id, data FROM segments WHERE vm_id = ?1 AND tier = ?2 AND t_first >= ?3 "
		      "AND t_first < ?4 ORDER BY id",
	[SEGT_DELETE] = "DELETE FROM segments WHERE id = ?1",
	[SEGT_EXPIRE] = "DELETE FROM segments WHERE tier = ?1 AND t_last < ?2",
};

int segtable_open(struct segtable *t, sqlite3 *db, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->db = db;
	for (int i = 0; i < SEGT_COUNT; i++)
		if (sqlite3_prepare_v3(db, segtable_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &t->st[i], NULL) != SQLITE_OK)
			return errmsg_set(err, errlen, "preparing segment statement %d: %s", i, sqlite3_errmsg(db));
	return 0;
}

void segtable_close(struct segtable *t)
{
	for (int i = 0; i < SEGT_COUNT; i++)
		sqlite3_finalize(t->st[i]);
	buf_free(&t->blob);
	memset(t, 0, sizeof(*t));
}

static sqlite3_stmt *stmt(struct segtable *t, enum segtable_stmt id)
{
	sqlite3_reset(t->st[id]);
	sqlite3_clear_bindings(t->st[id]);
	return t->st[id];
}

static int step_done(struct segtable *t, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return errmsg_set(err, errlen, "%s: %s", what, sqlite3_errmsg(t->db));
	return 0;
}

int segtable_insert(struct segtable *t, int64_t vm_id, int tier, struct seg_builder *b, int level, char *err,
		    size_t errlen)
{
	if (b->n == 0)
		return 0;
	if (seg_finish(b, &t->blob, level) < 0)
		return errmsg_set(err, errlen, "out of memory building a segment");
	sqlite3_stmt *st = stmt(t, SEGT_INSERT);
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_int(st, 2, tier);
	sqlite3_bind_int64(st, 3, b->t_first);
	sqlite3_bind_int64(st, 4, b->t_last);
	sqlite3_bind_blob(st, 5, t->blob.data, (int)t->blob.len, SQLITE_STATIC);
	t->bytes_written += t->blob.len;
	return step_done(t, st, "writing a segment", err, errlen);
}

int segtable_each(struct segtable *t, int64_t vm_id, int tier, int64_t from, int64_t to,
		  int (*fn)(void *arg, int64_t id, const void *blob, size_t len), void *arg, char *err,
		  size_t errlen)
{
	sqlite3_stmt *st = stmt(t, SEGT_HOUR);
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_int(st, 2, tier);
	sqlite3_bind_int64(st, 3, from);
	sqlite3_bind_int64(st, 4, to);
	int rc = SQLITE_DONE, stop = 0;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
			  (size_t)sqlite3_column_bytes(st, 1));
	sqlite3_reset(st);
	if (stop)
		return stop;
	if (rc != SQLITE_DONE)
		return errmsg_set(err, errlen, "reading segments to merge: %s", sqlite3_errmsg(t->db));
	return 0;
}

int segtable_delete(struct segtable *t, int64_t id, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(t, SEGT_DELETE);
	sqlite3_bind_int64(st, 1, id);
	return step_done(t, st, "deleting a merged segment", err, errlen);
}

int segtable_expire(struct segtable *t, int tier, int64_t before_ms, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(t, SEGT_EXPIRE);
	sqlite3_bind_int(st, 1, tier);
	sqlite3_bind_int64(st, 2, before_ms);
	return step_done(t, st, "applying retention", err, errlen);
}
