#include "reader.h"

#include <stdlib.h>

#include "db.h"
#include "errmsg.h"

struct store_reader {
	sqlite3 *db;
};

/* Version 3 brought the segment store; older files are migrated by the
 * collector, never by a reader. */
#define READER_MIN_SCHEMA 3

static int check_schema(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int v = db_pragma_int(db, "PRAGMA user_version");
	if (v <= 0)
		return errmsg_set(err, errlen, "%s is not a Vigil database (schema version %d)", path, v);
	if (v < READER_MIN_SCHEMA)
		return errmsg_set(err, errlen, "%s has schema version %d; start vigil-collector on it once to migrate it",
			       path, v);
	return 0;
}

int store_reader_open(struct store_reader **out, const char *path, char *err, size_t errlen)
{
	struct store_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return errmsg_set(err, errlen, "out of memory");
	if (db_open(&r->db, path, SQLITE_OPEN_READONLY, err, errlen) < 0 || check_schema(r->db, path, err, errlen) < 0) {
		store_reader_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

sqlite3 *store_reader_db(const struct store_reader *r)
{
	return r->db;
}

void store_reader_close(struct store_reader *r)
{
	if (!r)
		return;
	sqlite3_close(r->db);
	free(r);
}
