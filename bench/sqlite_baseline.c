#include "sqlite_baseline.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench_proc.h"
#include "clock.h"

static int fail_sql(sqlite3 *db, const char *step, char *err, size_t errlen)
{
	snprintf(err, errlen, "baseline: %s: %s", step, db ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One batch in one transaction; adds the wall and CPU time spent in
 * SQLite to out. */
static int insert_batch(sqlite3 *db, sqlite3_stmt *ins, const struct trace_shape *s, uint32_t host,
			const Vigil__Batch *b, struct baseline_result *out, char *err, size_t errlen)
{
	uint64_t t0 = clock_monotonic_ns(), cpu0 = thread_cpu_ns();
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return fail_sql(db, "begin", err, errlen);
	for (uint32_t vm = 0; vm < b->n_vms; vm++) {
		for (uint32_t m = 0; m < b->vms[vm]->n_samples; m++) {
			sqlite3_bind_int64(ins, 1, (sqlite3_int64)trace_series_id(s, host, vm, m));
			sqlite3_bind_int64(ins, 2, b->t_start_ms);
			sqlite3_bind_double(ins, 3, b->vms[vm]->samples[m]->value);
			if (sqlite3_step(ins) != SQLITE_DONE)
				return fail_sql(db, "insert", err, errlen);
			sqlite3_reset(ins);
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return fail_sql(db, "commit", err, errlen);
	out->sql_seconds += (double)(clock_monotonic_ns() - t0) / 1e9;
	out->sql_cpu_seconds += (double)(thread_cpu_ns() - cpu0) / 1e9;
	return 0;
}

static int insert_all(sqlite3 *db, sqlite3_stmt *ins, const struct trace_shape *s, struct baseline_result *out,
		      char *err, size_t errlen)
{
	struct trace_host **gens = calloc(s->hosts, sizeof(*gens));
	int rc = gens ? 0 : -1;
	for (uint32_t h = 0; h < s->hosts && rc == 0; h++)
		rc = (gens[h] = trace_host_new(s, h)) ? 0 : -1;
	if (rc < 0)
		snprintf(err, errlen, "baseline: out of memory");
	for (uint32_t k = 0; k < s->intervals && rc == 0; k++) {
		for (uint32_t h = 0; h < s->hosts && rc == 0; h++) {
			const Vigil__Batch *b = trace_host_next(gens[h], (uint64_t)k + 1);
			rc = insert_batch(db, ins, s, h, b, out, err, errlen);
			out->samples += trace_batch_samples(s);
			out->transactions++;
		}
	}
	for (uint32_t h = 0; gens && h < s->hosts; h++)
		trace_host_free(gens[h]);
	free(gens);
	return rc;
}

int baseline_insert(const struct trace_shape *s, const char *path, struct baseline_result *out, char *err,
		    size_t errlen)
{
	char wal[400], shm[400];
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL;
	int rc = -1;
	*out = (struct baseline_result){ 0 };
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fail_sql(db, "open", err, errlen);
		goto done;
	}
	if (sqlite3_exec(db,
			 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
			 "CREATE TABLE samples (series INTEGER NOT NULL, t_ms INTEGER NOT NULL, value REAL NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK) {
		fail_sql(db, "schema", err, errlen);
		goto done;
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO samples (series, t_ms, value) VALUES (?1, ?2, ?3)", -1, &ins,
			       NULL) != SQLITE_OK) {
		fail_sql(db, "prepare", err, errlen);
		goto done;
	}
	if (insert_all(db, ins, s, out, err, errlen) < 0)
		goto done;
	if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK) {
		fail_sql(db, "checkpoint", err, errlen);
		goto done;
	}
	out->bytes = file_size(path) + file_size(wal);
	rc = 0;
done:
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return rc;
}
