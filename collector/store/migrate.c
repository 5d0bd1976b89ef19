#include "migrate.h"

#include <stdio.h>
#include <string.h>

#include "catalogue.h"
#include "db.h"
#include "errmsg.h"
#include "log.h"
#include "migrations.h"

/* Whether migration m, older than the file's version, was never applied: a
 * database numbered past it by a collector that did not have it. The
 * migration's "-- creates: TABLE" line names the table that shows it ran. */
static int skipped_by_gap(sqlite3 *db, const struct migration *m)
{
	const char *mark = strstr(m->sql, "\n-- creates: ");
	if (!mark)
		return 0;
	mark += strlen("\n-- creates: ");
	size_t len = strcspn(mark, " \n");
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%.*s'",
		 (int)(len < 64 ? len : 64), mark);
	if (db_pragma_int(db, sql) != 0)
		return 0;
	log_warn("schema migration %s was skipped by a version gap; applying it now", m->name);
	return 1;
}

/* Applies each embedded migration newer than the file's user_version, each in
 * its own transaction together with the version bump. */
static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int current = db_pragma_int(db, "PRAGMA user_version");
	int newest = vigil_migration_count ? vigil_migrations[vigil_migration_count - 1].version : 0;
	if (current < 0)
		return errmsg_set(err, errlen, "%s: cannot read schema version: %s", path, sqlite3_errmsg(db));
	if (current > newest)
		return errmsg_set(err, errlen, "%s: schema version %d is newer than this collector knows (%d); "
			       "use a newer vigil-collector", path, current, newest);

	for (unsigned i = 0; i < vigil_migration_count; i++) {
		const struct migration *m = &vigil_migrations[i];
		if (m->version <= current && !skipped_by_gap(db, m))
			continue;
		char bump[64], why[512];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", m->version > current ? m->version : current);
		if (db_exec(db, "BEGIN IMMEDIATE", why, sizeof(why)) < 0 ||
		    db_exec(db, m->sql, why, sizeof(why)) < 0 || db_exec(db, bump, why, sizeof(why)) < 0) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return errmsg_set(err, errlen, "%s: migration %s failed: %s", path, m->name, why);
		}
		if (db_exec(db, "COMMIT", why, sizeof(why)) < 0)
			return errmsg_set(err, errlen, "%s: migration %s failed to commit: %s", path, m->name, why);
		log_info("%s: schema migrated to version %d (%s)", path, m->version, m->name);
	}
	return 0;
}

/* Refreshes the metrics table from the catalogue this collector was built
 * with, so units and descriptions follow schema/metrics.tsv. Metrics that
 * arrived without a catalogue entry keep their rows. */
static int sync_catalogue(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	static const char upsert[] =
		"INSERT INTO metrics (name, unit, layer, kind, tags, description) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
		"ON CONFLICT (name) DO UPDATE SET unit = excluded.unit, layer = excluded.layer, "
		"kind = excluded.kind, tags = excluded.tags, description = excluded.description";
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;

	if (sqlite3_prepare_v2(db, upsert, -1, &st, NULL) != SQLITE_OK)
		return errmsg_set(err, errlen, "%s: preparing the catalogue update: %s", path, sqlite3_errmsg(db));
	if (db_exec(db, "BEGIN IMMEDIATE", err, errlen) < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	for (unsigned i = 0; i < vigil_catalogue_count && rc == SQLITE_DONE; i++) {
		const struct metric_def *m = &vigil_catalogue[i];
		const char *fields[] = { m->name, m->unit, m->layer, m->kind, m->tags, m->description };

		sqlite3_reset(st);
		for (int f = 0; f < 6; f++)
			sqlite3_bind_text(st, f + 1, fields[f], -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return errmsg_set(err, errlen, "%s: updating the metric catalogue: %s", path, sqlite3_errmsg(db));
	}
	return db_exec(db, "COMMIT", err, errlen);
}

/* The writer's connection: WAL lets readers (vigilctl --db, the query
 * connections) see committed data while a group commit is open;
 * synchronous=FULL makes an acknowledged batch survive a power cut, not
 * only a crash. A new file gets incremental auto-vacuum, so space freed by
 * flushes and retention can be given back to the file system. */
int migrate_writer_setup(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	/* Foreign keys stay declared but unchecked: the writer is the only one
	 * adding rows and creates parents first; checking costs a lookup per
	 * journal row. */
	if (db_pragma_int(db, "PRAGMA user_version") == 0 && db_pragma_int(db, "SELECT count(*) FROM sqlite_schema") == 0 &&
	    db_exec(db, "PRAGMA auto_vacuum = INCREMENTAL", err, errlen) < 0)
		return -1;
	if (db_exec(db,
		     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
		     "PRAGMA journal_size_limit = 67108864; PRAGMA cache_size = -32768",
		     err, errlen) < 0)
		return -1;
	return migrate(db, path, err, errlen) < 0 || sync_catalogue(db, path, err, errlen) < 0 ? -1 : 0;
}
