/* Coalescing into temporal intervals, against a real SQLite file: equal
 * values extend, different values and gaps start rows, repeated batches are
 * acknowledged without being stored twice. Every write goes through the
 * writer thread: the SLA checks' rows are store requests, and the store's
 * query connection refuses writes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "batch.h"
#include "query.h"
#include "catalogue.h"
#include "history.h"
#include "migrations.h"
#include "interval.h"
#include "store.h"

#define T0 1790000000000LL
#define STEP 1000

struct fixture {
	char path[64];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	snprintf(f->path, sizeof(f->path), "/tmp/vigil-test-store-XXXXXX");
	int fd = mkstemp(f->path);
	close(fd);
	unlink(f->path);
	if (store_open(&f->st, f->path, 0, err, sizeof(err)) < 0)
		fail_msg("store_open: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char side[80];
	store_close(f->st);
	unlink(f->path);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", f->path);
	unlink(side);
	free(f);
	return 0;
}

/* Stores one reading of cpu.used_pct for interval number k (or the
 * interval [start, end] given in ms offsets). */
static enum store_result put(struct fixture *f, uint64_t seq, int64_t start, int64_t end, double value)
{
	char err[256];
	struct vm_target t = { .name = "vm1", .uuid = "11111111-2222-4333-8444-555555555555",
			       .state = "running", .source = VM_SOURCE_PID, .pid = 1 };
	Vigil__Batch *b = batch_new("hv1", seq, T0 + start, T0 + end, STEP);
	Vigil__VmSamples *vm = batch_add_vm(b, &t, 1);
	batch_add_sample(vm, "cpu.used_pct", value, NULL, NULL);
	enum store_result r = store_batch(f->st, b, err, sizeof(err));
	if (r == STORE_FAILED)
		fail_msg("store_batch: %s", err);
	batch_free(b);
	return r;
}

static int64_t scalar(struct fixture *f, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(store_db(f->st), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The rows history_scan returns for one metric of vm1, all time. */
struct rowset {
	int n;
	struct history_row r[64];
};

static int keep_row(const struct history_row *r, void *arg)
{
	struct rowset *set = arg;
	if (set->n < 64) {
		set->r[set->n] = *r;
		/* Strings do not outlive the callback. */
		set->r[set->n].host = set->r[set->n].vm = set->r[set->n].vm_uuid = NULL;
		set->r[set->n].metric = set->r[set->n].layer = set->r[set->n].unit = NULL;
		set->r[set->n].tags = set->r[set->n].kind = NULL;
	}
	set->n++;
	return 0;
}

static struct rowset rows_of(struct fixture *f, const char *metric)
{
	struct rowset set = { 0 };
	char err[256];
	struct history_filter all = { .vm = "vm1", .metric = metric, .since_ms = 0, .until_ms = INT64_MAX };
	if (history_scan(store_db(f->st), &all, keep_row, &set, err, sizeof(err)) != 0)
		fail_msg("history_scan: %s", err);
	return set;
}

static void test_decide_rules(void **state)
{
	(void)state;
	struct open_interval prev = { 5.0, T0 + 1000 };
	assert_int_equal(interval_decide(NULL, 5.0, T0 + 1000, T0 + 2000, STEP), INTERVAL_NEW);
	assert_int_equal(interval_decide(&prev, 5.0, T0 + 1000, T0 + 2000, STEP), INTERVAL_EXTEND);
	assert_int_equal(interval_decide(&prev, 5.5, T0 + 1000, T0 + 2000, STEP), INTERVAL_NEW);
	/* Exactly 1.5 intervals since the last reading: still continuous. */
	assert_int_equal(interval_decide(&prev, 5.0, T0 + 1500, T0 + 2500, STEP), INTERVAL_EXTEND);
	assert_int_equal(interval_decide(&prev, 5.0, T0 + 1501, T0 + 2501, STEP), INTERVAL_NEW);
	/* A reading starting before the previous one ended (clock step back). */
	assert_int_equal(interval_decide(&prev, 5.0, T0 + 500, T0 + 1500, STEP), INTERVAL_NEW);
}

static void test_equal_values_extend_one_row(void **state)
{
	struct fixture *f = *state;
	for (int k = 0; k < 5; k++)
		assert_int_equal(put(f, 1 + k, k * STEP, (k + 1) * STEP, 42.0), STORE_STORED);
	struct rowset set = rows_of(f, "cpu.used_pct");
	assert_int_equal(set.n, 1);
	assert_int_equal(set.r[0].t_start_ms, T0);
	assert_int_equal(set.r[0].t_end_ms, T0 + 5 * STEP);
	assert_int_equal(set.r[0].samples, 5);
	assert_true(set.r[0].open);
}

static void test_different_value_starts_a_row(void **state)
{
	struct fixture *f = *state;
	put(f, 1, 0, STEP, 10.0);
	put(f, 2, STEP, 2 * STEP, 10.0);
	put(f, 3, 2 * STEP, 3 * STEP, 20.0);
	struct rowset set = rows_of(f, "cpu.used_pct");
	assert_int_equal(set.n, 2);
	assert_true(set.r[0].value == 10.0 && set.r[1].value == 20.0);
	assert_int_equal(set.r[0].t_end_ms, T0 + 2 * STEP);
	assert_int_equal(set.r[1].t_start_ms, T0 + 2 * STEP);
	assert_false(set.r[0].open);
	assert_int_equal(set.r[1].flags & IV_GAP, 0);
}

static void test_gap_starts_a_row_even_if_equal(void **state)
{
	struct fixture *f = *state;
	put(f, 1, 0, STEP, 10.0);
	/* Nothing for two intervals, then the same value. */
	put(f, 2, 3 * STEP, 4 * STEP, 10.0);
	struct rowset set = rows_of(f, "cpu.used_pct");
	assert_int_equal(set.n, 2);
	assert_int_equal(set.r[1].t_start_ms, T0 + 3 * STEP);
	assert_int_equal(set.r[0].t_end_ms, T0 + STEP);
	/* The gap is explicit in the second row. */
	assert_int_equal(set.r[1].flags & IV_GAP, IV_GAP);
}

static void test_repeated_batch_is_not_stored_twice(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(put(f, 5, 0, STEP, 10.0), STORE_STORED);
	assert_int_equal(put(f, 6, STEP, 2 * STEP, 11.0), STORE_STORED);
	assert_int_equal(put(f, 6, STEP, 2 * STEP, 11.0), STORE_DUPLICATE);
	assert_int_equal(put(f, 5, 0, STEP, 10.0), STORE_DUPLICATE);
	assert_int_equal(rows_of(f, "cpu.used_pct").n, 2);
	assert_int_equal(scalar(f, "SELECT last_seq FROM hosts WHERE name = 'hv1'"), 6);
}

struct scan_seen {
	int rows;
	double values[8];
	int64_t starts[8];
};

static int collect_row(const struct history_row *r, void *arg)
{
	struct scan_seen *seen = arg;
	assert_string_equal(r->host, "hv1");
	assert_string_equal(r->vm, "vm1");
	assert_string_equal(r->layer, "cpu");
	if (seen->rows < 8) {
		seen->values[seen->rows] = r->value;
		seen->starts[seen->rows] = r->t_start_ms;
	}
	seen->rows++;
	return 0;
}

static void test_history_scan_returns_intervals_in_order(void **state)
{
	struct fixture *f = *state;
	put(f, 1, 0, STEP, 10.0);
	put(f, 2, STEP, 2 * STEP, 10.0);
	put(f, 3, 2 * STEP, 3 * STEP, 20.0);
	put(f, 4, 3 * STEP, 4 * STEP, 30.0);
	char err[256];
	struct scan_seen seen = { 0 };
	struct history_filter all = { .vm = "vm1", .metric = "cpu.used_pct", .tags = "", .since_ms = T0,
				      .until_ms = T0 + 10 * STEP };
	assert_int_equal(history_scan(store_db(f->st), &all, collect_row, &seen, err, sizeof(err)), 0);
	assert_int_equal(seen.rows, 3);
	assert_true(seen.values[0] == 10.0 && seen.values[1] == 20.0 && seen.values[2] == 30.0);
	assert_int_equal(seen.starts[1], T0 + 2 * STEP);

	/* Only rows overlapping the window; the VM may be named by UUID. */
	struct scan_seen late = { 0 };
	struct history_filter window = { .vm = "11111111-2222-4333-8444-555555555555", .since_ms = T0 + 3 * STEP + 1,
					 .until_ms = T0 + 10 * STEP };
	assert_int_equal(history_scan(store_db(f->st), &window, collect_row, &late, err, sizeof(err)), 0);
	assert_int_equal(late.rows, 1);
	assert_true(late.values[0] == 30.0);

	struct scan_seen none = { 0 };
	struct history_filter other = { .metric = "cpu.wait_pct", .since_ms = T0, .until_ms = T0 + 10 * STEP };
	assert_int_equal(history_scan(store_db(f->st), &other, collect_row, &none, err, sizeof(err)), 0);
	assert_int_equal(none.rows, 0);
}

static void test_derived_samples_coalesce_for_known_vm(void **state)
{
	struct fixture *f = *state;
	char err[256];
	put(f, 1, 0, STEP, 10.0);
	Vigil__Sample smp = VIGIL__SAMPLE__INIT;
	smp.metric = "sla.p_violation";
	smp.value = 0.25;
	Vigil__Sample *list[] = { &smp };
	const char *uuid = "11111111-2222-4333-8444-555555555555";
	assert_int_equal(store_derived(f->st, uuid, T0, T0 + STEP, STEP, list, 1, err, sizeof(err)), 0);
	assert_int_equal(store_derived(f->st, uuid, T0 + STEP, T0 + 2 * STEP, STEP, list, 1, err, sizeof(err)), 0);
	struct rowset set = rows_of(f, "sla.p_violation");
	assert_int_equal(set.n, 1);
	assert_int_equal(set.r[0].t_end_ms, T0 + 2 * STEP);
	assert_int_equal(set.r[0].samples, 2);
	assert_int_equal(store_derived(f->st, "00000000-0000-4000-8000-000000000000", T0, T0 + STEP, STEP, list, 1, err,
				       sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not known"));
}

/* The derived path remembers each position's series from the previous
 * call; a different reading at a remembered position must still reach its
 * own series, and a cached series must not let a bad value through. */
static void test_derived_readings_keep_their_series_when_the_order_changes(void **state)
{
	struct fixture *f = *state;
	char err[256];
	const char *uuid = "11111111-2222-4333-8444-555555555555";
	put(f, 1, 0, STEP, 10.0);
	Vigil__Sample a = VIGIL__SAMPLE__INIT, b = VIGIL__SAMPLE__INIT;
	a.metric = "sla.p_violation";
	a.value = 0.25;
	b.metric = "sla.cpu";
	b.value = 1.0;
	Vigil__Sample *ab[] = { &a, &b }, *ba[] = { &b, &a };
	assert_int_equal(store_derived(f->st, uuid, T0, T0 + STEP, STEP, ab, 2, err, sizeof(err)), 0);
	assert_int_equal(store_derived(f->st, uuid, T0 + STEP, T0 + 2 * STEP, STEP, ba, 2, err, sizeof(err)), 0);
	a.value = NAN;
	assert_int_equal(store_derived(f->st, uuid, T0 + 2 * STEP, T0 + 3 * STEP, STEP, ba, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "finite"));
	struct rowset p = rows_of(f, "sla.p_violation"), c = rows_of(f, "sla.cpu");
	assert_int_equal(p.n, 1);
	assert_int_equal(p.r[0].samples, 2);
	assert_true(p.r[0].value == 0.25);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.r[0].samples, 2);
	assert_true(c.r[0].value == 1.0);
}

/* Stores one batch of vm1 holding a two-tag reading, its tags in the
 * order given, and an untagged one. */
static void put_tagged(struct fixture *f, uint64_t seq, const struct batch_tag *tags)
{
	char err[256];
	struct vm_target t = { .name = "vm1", .uuid = "11111111-2222-4333-8444-555555555555",
			       .state = "running", .source = VM_SOURCE_PID, .pid = 1 };
	Vigil__Batch *b = batch_new("hv1", seq, T0 + (int64_t)(seq - 1) * STEP, T0 + (int64_t)seq * STEP, STEP);
	Vigil__VmSamples *vm = batch_add_vm(b, &t, 1);
	assert_int_equal(batch_add_sample_tags(vm, "disk.read_bytes", 512, tags, 2), 0);
	assert_int_equal(batch_add_sample(vm, "cpu.used_pct", 1.0, "vcpu", "0"), 0);
	if (store_batch(f->st, b, err, sizeof(err)) != STORE_STORED)
		fail_msg("store_batch: %s", err);
	batch_free(b);
}

/* The series key (series.tags) is part of the file format: a tag set is
 * kept in its canonical form, and a store reopened on the file finds the
 * same series again, whatever order the tags come in, instead of adding
 * one. */
static void test_series_keys_match_existing_rows(void **state)
{
	struct fixture *f = *state;
	char err[256];
	const struct batch_tag fwd[] = { { "queue", "1" }, { "dev", "vda" } };
	const struct batch_tag rev[] = { { "dev", "vda" }, { "queue", "1" } };
	put_tagged(f, 1, fwd);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(store_db(f->st), "SELECT group_concat(tags, '|') FROM "
					    "(SELECT tags FROM series ORDER BY id)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "dev=vda,queue=1|vcpu=0");
	sqlite3_finalize(st);
	store_close(f->st);
	assert_int_equal(store_open(&f->st, f->path, 0, err, sizeof(err)), 0);
	put_tagged(f, 2, rev); /* found through the series table */
	put_tagged(f, 3, fwd); /* through the writer's cache of the last batch */
	assert_int_equal(scalar(f, "SELECT count(*) FROM series"), 2);
	struct rowset r = rows_of(f, "disk.read_bytes");
	assert_int_equal(r.n, 1);
	assert_int_equal(r.r[0].samples, 3);
}

static void test_status_shows_latest_reading(void **state)
{
	struct fixture *f = *state;
	char err[256];
	Vigil__StatusReply *r;
	put(f, 1, 0, STEP, 10.0);
	put(f, 2, STEP, 2 * STEP, 33.5);
	assert_int_equal(query_status(store_db(f->st), T0 + 2 * STEP, &r, err, sizeof(err)), 0);
	assert_int_equal(r->n_vms, 1);
	assert_string_equal(r->vms[0]->vm, "vm1");
	assert_string_equal(r->vms[0]->host, "hv1");
	assert_string_equal(r->vms[0]->state, "running");
	assert_true(r->vms[0]->has_cpu);
	assert_true(r->vms[0]->cpu_used_pct == 33.5);
	status_reply_free(r);
	/* Long after the host stopped reporting, the VM is stale. */
	assert_int_equal(query_status(store_db(f->st), T0 + 60 * STEP, &r, err, sizeof(err)), 0);
	assert_string_equal(r->vms[0]->state, "stale");
	status_reply_free(r);
}

static void test_schema_is_versioned_and_reopens(void **state)
{
	struct fixture *f = *state;
	char err[256];
	assert_int_equal(scalar(f, "PRAGMA user_version"), vigil_migrations[vigil_migration_count - 1].version);
	put(f, 1, 0, STEP, 1.0);
	store_close(f->st);
	/* Reopening applies nothing twice and keeps the data. */
	assert_int_equal(store_open(&f->st, f->path, 0, err, sizeof(err)), 0);
	assert_int_equal(rows_of(f, "cpu.used_pct").n, 1);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(store_db(f->st), "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
}

static void test_catalogue_fills_metrics_table(void **state)
{
	struct fixture *f = *state;
	char err[256];
	const struct metric_def *used = catalogue_find("cpu.used_pct");

	assert_non_null(used);
	assert_null(catalogue_find("no.such_metric"));
	assert_int_equal(scalar(f, "SELECT count(*) FROM metrics"), (int)vigil_catalogue_count);
	assert_int_equal(scalar(f, "SELECT count(*) FROM metrics WHERE name = 'cpu.used_pct' AND unit = '%' "
				   "AND kind = 'gauge' AND layer = 'cpu' AND description <> ''"), 1);
	/* A stale row, as an older collector left it, is brought back in
	 * line with the catalogue on reopen. The store is closed, so the
	 * test's own connection is the file's only writer. */
	store_close(f->st);
	f->st = NULL;
	sqlite3 *old;
	assert_int_equal(sqlite3_open_v2(f->path, &old, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(old, "UPDATE metrics SET unit = 'bogus' WHERE name = 'cpu.used_pct'", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	sqlite3_close(old);
	assert_int_equal(store_open(&f->st, f->path, 0, err, sizeof(err)), 0);
	assert_int_equal(scalar(f, "SELECT count(*) FROM metrics WHERE name = 'cpu.used_pct' AND unit = '%'"), 1);
}

/* Names are unique and every entry is complete. */
static void test_catalogue_is_well_formed(void **state)
{
	(void)state;
	for (unsigned i = 0; i < vigil_catalogue_count; i++) {
		const struct metric_def *m = &vigil_catalogue[i];

		assert_true(m->name[0] && m->unit[0] && m->tags[0] && m->description[0]);
		assert_ptr_equal(catalogue_find(m->name), m);
	}
}

/* SQLite itself refuses a write through store_db(), of a writing store as
 * of one opened read-only: only the writer thread writes. */
static void test_store_db_refuses_writes(void **state)
{
	struct fixture *f = *state;
	char err[256];
	put(f, 1, 0, STEP, 1.0);
	const char *writes[] = {
		"UPDATE metrics SET unit = 'bogus' WHERE name = 'cpu.used_pct'",
		"INSERT INTO sla_alerts (host, vm, vm_uuid, t_start, peak, cause_node, cause_state, cause_p, cause, "
		"evidence) VALUES ('hv1', 'vm1', 'u', 0, 1, '', '', 0, '', '')",
		"DELETE FROM segments",
		"CREATE TABLE scratch (x)",
	};
	for (int ro = 0; ro < 2; ro++) {
		sqlite3 *db = store_db(f->st);
		assert_int_equal(sqlite3_db_readonly(db, "main"), 1);
		for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
			assert_int_equal(sqlite3_exec(db, writes[i], NULL, NULL, NULL), SQLITE_READONLY);
			assert_non_null(strstr(sqlite3_errmsg(db), "readonly"));
		}
		assert_int_equal(scalar(f, "SELECT count(*) FROM sla_alerts"), 0);
		assert_int_equal(rows_of(f, "cpu.used_pct").n, 1);
		/* The same through a store opened read-only (vigilctl --db). */
		store_close(f->st);
		assert_int_equal(store_open(&f->st, f->path, 1, err, sizeof(err)), 0);
	}
	/* A read-only store has no writer to submit to. */
	struct sla_alert_row a = { .host = "hv1", .vm = "vm1", .vm_uuid = "u" };
	assert_int_equal(store_sla_alert(f->st, STORE_REQ_ALERT_OPEN, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "read-only"));
}

struct alert_done {
	int calls;
	enum store_result res;
	int64_t id;
};

static void on_alert_done(struct store_req *r, enum store_result res, const char *err)
{
	(void)err;
	struct alert_done *d = r->arg;
	d->calls++;
	d->res = res;
	d->id = r->alert->id;
}

static char *text_of(struct fixture *f, const char *sql)
{
	static char buf[256];
	sqlite3_stmt *st;
	buf[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(store_db(f->st), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

/* The SLA checks' rows are requests to the writer: a model is recorded
 * once per change, an alert opens with the id SQLite or the caller gives
 * it (returned through the request's completion), takes a new peak and
 * closes; a failed row fails only its own request. */
static void test_sla_rows_go_through_the_writer(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct sla_model_row m = { .loaded_at_ms = T0, .origin = "built-in", .target = "SLA", .violated = "VIOLATED",
				   .host_node = "HOST", .text = "network a { }\n", .text_len = 14 };
	assert_int_equal(store_sla_model(f->st, &m, err, sizeof(err)), 0);
	assert_int_equal(store_sla_model(f->st, &m, err, sizeof(err)), 0); /* unchanged: no row */
	m.text = "network b { }\n";
	assert_int_equal(store_sla_model(f->st, &m, err, sizeof(err)), 0);
	assert_int_equal(scalar(f, "SELECT count(*) FROM sla_models"), 2);
	assert_string_equal(text_of(f, "SELECT text FROM sla_models ORDER BY id DESC LIMIT 1"), "network b { }\n");

	/* Synchronous, SQLite choosing the id. */
	struct sla_alert_row a = { .host = "hv1", .vm = "vm1", .vm_uuid = "u1", .t_start_ms = T0, .peak = 0.6,
				   .cause_node = "HOST", .cause_state = "DOWN", .cause_p = 0.1, .cause = "why",
				   .evidence = "HOST=DOWN" };
	assert_int_equal(store_sla_alert(f->st, STORE_REQ_ALERT_OPEN, &a, err, sizeof(err)), 0);
	assert_int_equal(a.id, 1);
	a.peak = 0.9;
	a.cause = "worse";
	assert_int_equal(store_sla_alert(f->st, STORE_REQ_ALERT_PEAK, &a, err, sizeof(err)), 0);
	a.t_end_ms = T0 - 5; /* never before the start */
	assert_int_equal(store_sla_alert(f->st, STORE_REQ_ALERT_CLOSE, &a, err, sizeof(err)), 0);
	assert_int_equal(scalar(f, "SELECT t_end FROM sla_alerts WHERE id = 1"), T0);
	assert_int_equal(scalar(f, "SELECT round(peak * 10) FROM sla_alerts WHERE id = 1"), 9);
	assert_string_equal(text_of(f, "SELECT cause FROM sla_alerts WHERE id = 1"), "worse");
	assert_int_equal(store_sla_alert(f->st, STORE_REQ_BATCH, &a, err, sizeof(err)), -1);

	/* Asynchronous, beside a batch: the caller gives id 7; a second open
	 * of id 7 fails alone, and the batch and the first open are stored. */
	struct sla_alert_row b = a, dup = a;
	b.id = dup.id = 7;
	struct alert_done d1 = { 0 }, d2 = { 0 };
	struct store_req r1, r2;
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	r1.kind = r2.kind = STORE_REQ_ALERT_OPEN;
	r1.alert = &b;
	r2.alert = &dup;
	r1.done = r2.done = on_alert_done;
	r1.arg = &d1;
	r2.arg = &d2;
	store_submit(f->st, &r1);
	store_submit(f->st, &r2);
	put(f, 1, 0, STEP, 1.0);
	assert_int_equal(store_sync(f->st, err, sizeof(err)), 0);
	assert_int_equal(d1.calls, 1);
	assert_int_equal(d1.res, STORE_STORED);
	assert_int_equal(d1.id, 7);
	assert_int_equal(d2.calls, 1);
	assert_int_equal(d2.res, STORE_FAILED);
	assert_non_null(strstr(r2.err, "opening the alert"));
	assert_int_equal(scalar(f, "SELECT count(*) FROM sla_alerts WHERE t_end IS NULL"), 1);
	assert_int_equal(rows_of(f, "cpu.used_pct").n, 1);
}

static void test_readonly_open_rejects_foreign_file(void **state)
{
	(void)state;
	char err[256] = "";
	struct store *st;
	assert_int_equal(store_open(&st, "/nonexistent/dir/x.db", 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/dir/x.db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_rules),
		cmocka_unit_test_setup_teardown(test_equal_values_extend_one_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_different_value_starts_a_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_starts_a_row_even_if_equal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeated_batch_is_not_stored_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_scan_returns_intervals_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_derived_samples_coalesce_for_known_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_derived_readings_keep_their_series_when_the_order_changes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_status_shows_latest_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_is_versioned_and_reopens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series_keys_match_existing_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalogue_fills_metrics_table, setup, teardown),
		cmocka_unit_test(test_catalogue_is_well_formed),
		cmocka_unit_test_setup_teardown(test_store_db_refuses_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sla_rows_go_through_the_writer, setup, teardown),
		cmocka_unit_test(test_readonly_open_rejects_foreign_file),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
