#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "catalogue.h"
#include "migrations.h"
#include "wire.h"

/* Prepared statements, one per step of the ingest, prepared once. */
enum stmt_id {
	ST_HOST_UPSERT,
	ST_HOST_GET,
	ST_HOST_ADVANCE,
	ST_VM_UPSERT,
	ST_VM_NAME_UPSERT,
	ST_METRIC_GET,
	ST_METRIC_ADD,
	ST_SERIES_ADD,
	ST_SERIES_GET,
	ST_SERIES_SET_ROW,
	ST_INTERVAL_GET,
	ST_INTERVAL_EXTEND,
	ST_INTERVAL_ADD,
	ST_VM_BY_UUID,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_HOST_UPSERT] = "INSERT INTO hosts (name, first_seen, last_seen) VALUES (?1, ?2, ?2) "
			   "ON CONFLICT (name) DO NOTHING",
	[ST_HOST_GET] = "SELECT id, last_seq FROM hosts WHERE name = ?1",
	[ST_HOST_ADVANCE] = "UPDATE hosts SET last_seq = ?2, last_seen = ?3, interval_ms = ?4 WHERE id = ?1",
	[ST_VM_UPSERT] = "INSERT INTO vms (uuid, host_id, name, source, state, vcpus, first_seen, last_seen) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
			 "ON CONFLICT (uuid) DO UPDATE SET host_id = ?2, name = ?3, source = ?4, state = ?5, "
			 "vcpus = ?6, last_seen = ?7 RETURNING id",
	[ST_VM_NAME_UPSERT] = "INSERT INTO vm_names (vm_id, name, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3) "
			      "ON CONFLICT (vm_id, name) DO UPDATE SET last_seen = ?3",
	[ST_METRIC_GET] = "SELECT id FROM metrics WHERE name = ?1",
	[ST_METRIC_ADD] = "INSERT INTO metrics (name, unit, layer) VALUES (?1, '', ?2)",
	[ST_SERIES_ADD] = "INSERT INTO series (vm_id, metric_id, tags) VALUES (?1, ?2, ?3) "
			  "ON CONFLICT DO NOTHING",
	[ST_SERIES_GET] = "SELECT id, last_row FROM series WHERE vm_id = ?1 AND metric_id = ?2 AND tags = ?3",
	[ST_SERIES_SET_ROW] = "UPDATE series SET last_row = ?2 WHERE id = ?1",
	[ST_INTERVAL_GET] = "SELECT value, t_end FROM intervals WHERE id = ?1",
	[ST_INTERVAL_EXTEND] = "UPDATE intervals SET t_end = ?2 WHERE id = ?1",
	[ST_INTERVAL_ADD] = "INSERT INTO intervals (series_id, t_start, t_end, value) VALUES (?1, ?2, ?3, ?4)",
	[ST_VM_BY_UUID] = "SELECT id FROM vms WHERE uuid = ?1",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
};

static int set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

sqlite3 *store_db(struct store *s)
{
	return s->db;
}

enum interval_action interval_decide(const struct open_interval *prev, double value,
				     int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms)
{
	if (!prev || prev->value != value)
		return INTERVAL_NEW;
	if (t_start_ms < prev->t_end_ms)
		return INTERVAL_NEW;
	/* Gap: no reading for more than 1.5 intervals. In integers: 2*dt > 3*interval. */
	if (2 * (t_end_ms - prev->t_end_ms) > 3 * (int64_t)interval_ms)
		return INTERVAL_NEW;
	return INTERVAL_EXTEND;
}

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		set_err(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int schema_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int version = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

/* Applies each embedded migration newer than the file's user_version, each in
 * its own transaction together with the version bump. */
static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int current = schema_version(db);
	int newest = vigil_migration_count ? vigil_migrations[vigil_migration_count - 1].version : 0;
	if (current < 0)
		return set_err(err, errlen, "%s: cannot read schema version: %s", path, sqlite3_errmsg(db));
	if (current > newest)
		return set_err(err, errlen, "%s: schema version %d is newer than this collector knows (%d); "
			       "use a newer vigil-collector", path, current, newest);

	for (unsigned i = 0; i < vigil_migration_count; i++) {
		const struct migration *m = &vigil_migrations[i];
		if (m->version <= current)
			continue;
		char bump[64], why[512];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", m->version);
		if (exec_sql(db, "BEGIN IMMEDIATE", why, sizeof(why)) < 0 ||
		    exec_sql(db, m->sql, why, sizeof(why)) < 0 || exec_sql(db, bump, why, sizeof(why)) < 0) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return set_err(err, errlen, "%s: migration %s failed: %s", path, m->name, why);
		}
		if (exec_sql(db, "COMMIT", why, sizeof(why)) < 0)
			return set_err(err, errlen, "%s: migration %s failed to commit: %s", path, m->name, why);
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
		return set_err(err, errlen, "%s: preparing the catalogue update: %s", path, sqlite3_errmsg(db));
	if (exec_sql(db, "BEGIN IMMEDIATE", err, errlen) < 0) {
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
		return set_err(err, errlen, "%s: updating the metric catalogue: %s", path, sqlite3_errmsg(db));
	}
	return exec_sql(db, "COMMIT", err, errlen);
}

static int prepare_all(struct store *s, char *err, size_t errlen)
{
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
		    SQLITE_OK)
			return set_err(err, errlen, "preparing statement %d: %s", i, sqlite3_errmsg(s->db));
	}
	return 0;
}

int store_open(struct store **out, const char *path, int readonly, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return set_err(err, errlen, "out of memory");
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		set_err(err, errlen, "cannot open database %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (readonly) {
		int v = schema_version(s->db);
		if (v <= 0) {
			set_err(err, errlen, "%s is not a Vigil database (schema version %d)", path, v);
			goto fail;
		}
		*out = s;
		return 0;
	}
	/* WAL lets vigilctl --db read while the collector writes; synchronous=FULL
	 * makes an acknowledged batch survive a power cut, not only a crash. */
	if (exec_sql(s->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
		     err, errlen) < 0 ||
	    migrate(s->db, path, err, errlen) < 0 || sync_catalogue(s->db, path, err, errlen) < 0 ||
	    prepare_all(s, err, errlen) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

/* Resets and returns a prepared statement for a fresh use. */
static sqlite3_stmt *stmt(struct store *s, enum stmt_id id)
{
	sqlite3_reset(s->stmt[id]);
	sqlite3_clear_bindings(s->stmt[id]);
	return s->stmt[id];
}

static int step_done(struct store *s, sqlite3_stmt *st, char *err, size_t errlen)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return set_err(err, errlen, "%s", sqlite3_errmsg(s->db));
	return 0;
}

static int host_begin(struct store *s, const Vigil__Batch *b, int64_t *host_id, uint64_t *last_seq, char *err,
		      size_t errlen)
{
	sqlite3_stmt *st = stmt(s, ST_HOST_UPSERT);
	sqlite3_bind_text(st, 1, b->host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, b->t_end_ms);
	if (step_done(s, st, err, errlen) < 0)
		return -1;
	st = stmt(s, ST_HOST_GET);
	sqlite3_bind_text(st, 1, b->host, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return set_err(err, errlen, "host %s: %s", b->host, sqlite3_errmsg(s->db));
	*host_id = sqlite3_column_int64(st, 0);
	*last_seq = (uint64_t)sqlite3_column_int64(st, 1);
	return 0;
}

static int host_advance(struct store *s, int64_t host_id, const Vigil__Batch *b, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(s, ST_HOST_ADVANCE);
	sqlite3_bind_int64(st, 1, host_id);
	sqlite3_bind_int64(st, 2, (int64_t)b->seq);
	sqlite3_bind_int64(st, 3, b->t_end_ms);
	sqlite3_bind_int64(st, 4, b->interval_ms);
	return step_done(s, st, err, errlen);
}

static int vm_upsert(struct store *s, int64_t host_id, const Vigil__VmSamples *vm, int64_t t_ms, int64_t *vm_id,
		     char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(s, ST_VM_UPSERT);
	sqlite3_bind_text(st, 1, vm->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, host_id);
	sqlite3_bind_text(st, 3, vm->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, vm->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, vm->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, vm->vcpus);
	sqlite3_bind_int64(st, 7, t_ms);
	if (sqlite3_step(st) != SQLITE_ROW)
		return set_err(err, errlen, "vm %s: %s", vm->name, sqlite3_errmsg(s->db));
	*vm_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);

	st = stmt(s, ST_VM_NAME_UPSERT);
	sqlite3_bind_int64(st, 1, *vm_id);
	sqlite3_bind_text(st, 2, vm->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, t_ms);
	return step_done(s, st, err, errlen);
}

/* The catalogue grows by itself: a metric a newer probe sends is recorded
 * with its layer taken from the name's prefix ("disk.read_bytes" -> disk). */
static int metric_id(struct store *s, const char *name, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(s, ST_METRIC_GET);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		return 0;
	}
	const char *dot = strchr(name, '.');
	int layer_len = dot ? (int)(dot - name) : (int)strlen(name);
	st = stmt(s, ST_METRIC_ADD);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, layer_len, SQLITE_STATIC);
	if (step_done(s, st, err, errlen) < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	log_info("metric %s added to the catalogue (layer %.*s, unit unknown)", name, layer_len, name);
	return 0;
}

/* Finds or creates the series; *last_row is 0 when it has no open interval. */
static int series_get(struct store *s, int64_t vm_id, int64_t metric, const char *tags, int64_t *series_id,
		      int64_t *last_row, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(s, ST_SERIES_ADD);
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_int64(st, 2, metric);
	sqlite3_bind_text(st, 3, tags, -1, SQLITE_STATIC);
	if (step_done(s, st, err, errlen) < 0)
		return -1;
	st = stmt(s, ST_SERIES_GET);
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_int64(st, 2, metric);
	sqlite3_bind_text(st, 3, tags, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return set_err(err, errlen, "series lookup: %s", sqlite3_errmsg(s->db));
	*series_id = sqlite3_column_int64(st, 0);
	*last_row = sqlite3_column_type(st, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 1);
	return 0;
}

static int interval_get(struct store *s, int64_t row, struct open_interval *out)
{
	sqlite3_stmt *st = stmt(s, ST_INTERVAL_GET);
	sqlite3_bind_int64(st, 1, row);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -1;
	out->value = sqlite3_column_double(st, 0);
	out->t_end_ms = sqlite3_column_int64(st, 1);
	return 0;
}

static int interval_extend(struct store *s, int64_t row, int64_t t_end_ms, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(s, ST_INTERVAL_EXTEND);
	sqlite3_bind_int64(st, 1, row);
	sqlite3_bind_int64(st, 2, t_end_ms);
	return step_done(s, st, err, errlen);
}

static int interval_add(struct store *s, int64_t series_id, const Vigil__Batch *b, double value, char *err,
			size_t errlen)
{
	sqlite3_stmt *st = stmt(s, ST_INTERVAL_ADD);
	sqlite3_bind_int64(st, 1, series_id);
	sqlite3_bind_int64(st, 2, b->t_start_ms);
	sqlite3_bind_int64(st, 3, b->t_end_ms);
	sqlite3_bind_double(st, 4, value);
	if (step_done(s, st, err, errlen) < 0)
		return -1;
	int64_t row = sqlite3_last_insert_rowid(s->db);
	st = stmt(s, ST_SERIES_SET_ROW);
	sqlite3_bind_int64(st, 1, series_id);
	sqlite3_bind_int64(st, 2, row);
	return step_done(s, st, err, errlen);
}

/* The design's ingest step 3: coalesce the reading into the open interval
 * or start a new one. */
static int sample_store(struct store *s, int64_t vm_id, const Vigil__Batch *b, const Vigil__Sample *smp, char *err,
			size_t errlen)
{
	char tags[WIRE_TAGS_MAX_LEN];
	int64_t metric = 0, series_id = 0, last_row = 0;
	struct open_interval prev;

	if (wire_canonical_tags(smp->tags, smp->n_tags, tags, sizeof(tags)) < 0)
		return set_err(err, errlen, "metric %s: invalid tags", smp->metric);
	if (metric_id(s, smp->metric, &metric, err, errlen) < 0 ||
	    series_get(s, vm_id, metric, tags, &series_id, &last_row, err, errlen) < 0)
		return -1;

	int have_prev = last_row && interval_get(s, last_row, &prev) == 0;
	if (interval_decide(have_prev ? &prev : NULL, smp->value, b->t_start_ms, b->t_end_ms, b->interval_ms) ==
	    INTERVAL_EXTEND)
		return interval_extend(s, last_row, b->t_end_ms, err, errlen);
	return interval_add(s, series_id, b, smp->value, err, errlen);
}

static int batch_write(struct store *s, const Vigil__Batch *b, char *err, size_t errlen, int *duplicate)
{
	int64_t host_id = 0;
	uint64_t last_seq = 0;
	if (host_begin(s, b, &host_id, &last_seq, err, errlen) < 0)
		return -1;
	if (b->seq <= last_seq) {
		*duplicate = 1;
		return 0;
	}
	for (size_t i = 0; i < b->n_vms; i++) {
		const Vigil__VmSamples *vm = b->vms[i];
		int64_t vm_id = 0;
		if (vm_upsert(s, host_id, vm, b->t_end_ms, &vm_id, err, errlen) < 0)
			return -1;
		for (size_t j = 0; j < vm->n_samples; j++) {
			if (sample_store(s, vm_id, b, vm->samples[j], err, errlen) < 0)
				return -1;
		}
	}
	return host_advance(s, host_id, b, err, errlen);
}

enum store_result store_batch(struct store *s, const Vigil__Batch *b, char *err, size_t errlen)
{
	char why[512];
	int duplicate = 0;
	if (exec_sql(s->db, "BEGIN IMMEDIATE", why, sizeof(why)) < 0) {
		set_err(err, errlen, "host %s seq %llu: cannot begin: %s", b->host, (unsigned long long)b->seq, why);
		return STORE_FAILED;
	}
	if (batch_write(s, b, why, sizeof(why), &duplicate) < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		set_err(err, errlen, "host %s seq %llu: %s", b->host, (unsigned long long)b->seq, why);
		return STORE_FAILED;
	}
	if (duplicate) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return STORE_DUPLICATE;
	}
	if (exec_sql(s->db, "COMMIT", why, sizeof(why)) < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		set_err(err, errlen, "host %s seq %llu: commit failed: %s", b->host, (unsigned long long)b->seq, why);
		return STORE_FAILED;
	}
	return STORE_STORED;
}

static int derived_write(struct store *s, const char *vm_uuid, const Vigil__Batch *when, Vigil__Sample *const *samples,
			 size_t n, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(s, ST_VM_BY_UUID);
	sqlite3_bind_text(st, 1, vm_uuid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return set_err(err, errlen, "vm %s is not known", vm_uuid);
	int64_t vm_id = sqlite3_column_int64(st, 0);
	for (size_t i = 0; i < n; i++)
		if (sample_store(s, vm_id, when, samples[i], err, errlen) < 0)
			return -1;
	return 0;
}

int store_derived(struct store *s, const char *vm_uuid, int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms,
		  Vigil__Sample *const *samples, size_t n, char *err, size_t errlen)
{
	/* Only the interval's times are read from it. */
	Vigil__Batch when = VIGIL__BATCH__INIT;
	when.t_start_ms = t_start_ms;
	when.t_end_ms = t_end_ms;
	when.interval_ms = interval_ms;
	char why[512];
	if (exec_sql(s->db, "BEGIN IMMEDIATE", why, sizeof(why)) < 0)
		return set_err(err, errlen, "derived samples of %s: cannot begin: %s", vm_uuid, why);
	if (derived_write(s, vm_uuid, &when, samples, n, why, sizeof(why)) < 0 ||
	    exec_sql(s->db, "COMMIT", why, sizeof(why)) < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return set_err(err, errlen, "derived samples of %s: %s", vm_uuid, why);
	}
	return 0;
}
