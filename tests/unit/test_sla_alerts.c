/* The live SLA checks against a real SQLite file: an alert opens after K
 * evaluations at or above the alert level, stays open through the band
 * between the clear and alert levels, closes after the clear count, is
 * stored with its cause and runs the action hook with its environment; a
 * hanging hook is killed at its timeout without holding up evaluation; a
 * silent host becomes HOST DOWN; the queries read it all back. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "batch.h"
#include "clock.h"
#include "history.h"
#include "log.h"
#include "sla_hook.h"
#include "sla_live.h"
#include "sla_query.h"
#include "store.h"

#define T0 1790000000000LL
#define STEP 1000
#define UUID "11111111-2222-4333-8444-555555555555"

/* tests/data/sla-small.net: PROCESSING OK / WARNING / CRITICAL give
 * P(VIOLATED) 0.05 / 0.45 / 0.9; 0.45 sits between the clear level (0.4)
 * and the alert level (0.5). */
#define MODEL_PATH VIGIL_TEST_DATA "/sla-small.net"

struct fixture {
	char dir[64];
	char db[96], model[512], hook_out[96];
	struct store *st;
	struct sla_engine *e;
	uint64_t seq;
	sqlite3 *scratch; /* the test's own, in memory: interval_rows */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-test-sla-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/vigil.db", f->dir);
	snprintf(f->model, sizeof(f->model), "%s", MODEL_PATH);
	snprintf(f->hook_out, sizeof(f->hook_out), "%s/hook.out", f->dir);
	if (store_open(&f->st, f->db, 0, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->e) {
		sla_engine_stop_hooks(f->e, 0);
		sla_engine_free(f->e);
	}
	store_close(f->st);
	sqlite3_close(f->scratch);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void start_engine(struct fixture *f, const char *extra)
{
	char text[2048], err[512];
	snprintf(text, sizeof(text),
		 "sla = { model = \"%s\"; clear_after = 2; stale_after = 3;\n"
		 "  thresholds = ( { node = \"PROCESSING\"; metric = \"cpu.used_pct\"; warning = 50; critical = 80; } );\n"
		 "  %s };",
		 f->model, extra);
	config_t cfg;
	struct sla_config c;
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE)
		fail_msg("libconfig: line %d: %s", config_error_line(&cfg), config_error_text(&cfg));
	if (sla_config_read(&cfg, &c, err, sizeof(err)) < 0 || sla_engine_new(&c, &f->e, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	config_destroy(&cfg);
	if (sla_engine_attach(f->e, f->st, T0, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

/* Interval k: [T0 + k*STEP, T0 + (k+1)*STEP], stored then evaluated.
 * Returns how long the evaluation took, in ms. */
static double feed(struct fixture *f, int k, double cpu, const char *vm_state)
{
	char err[256];
	struct vm_target t = { .name = "vm1", .uuid = UUID, .source = VM_SOURCE_LIBVIRT, .pid = 1 };
	snprintf(t.state, sizeof(t.state), "%s", vm_state);
	Vigil__Batch *b = batch_new("hv1", ++f->seq, T0 + k * STEP, T0 + (k + 1) * STEP, STEP);
	batch_add_sample(batch_add_vm(b, &t, 1), "cpu.used_pct", cpu, NULL, NULL);
	assert_int_equal(store_batch(f->st, b, err, sizeof(err)), STORE_STORED);
	int64_t before = clock_monotonic_ms();
	sla_engine_on_batch(f->e, b, T0 + (k + 1) * STEP);
	int64_t took = clock_monotonic_ms() - before;
	sla_submit_readings(f->st, sla_engine_take_readings(f->e));
	/* The readings are committed asynchronously; tests read them next. */
	assert_int_equal(store_sync(f->st, err, sizeof(err)), 0);
	batch_free(b);
	return (double)took;
}

static void tick(struct fixture *f, int64_t now_ms)
{
	char err[256];
	sla_engine_tick(f->e, now_ms);
	sla_submit_readings(f->st, sla_engine_take_readings(f->e));
	assert_int_equal(store_sync(f->st, err, sizeof(err)), 0);
}

static int copy_row(const struct history_row *r, void *arg)
{
	sqlite3_stmt *ins = arg;
	sqlite3_reset(ins);
	sqlite3_bind_text(ins, 1, r->metric, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, r->layer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 3, r->t_start_ms);
	sqlite3_bind_int64(ins, 4, r->t_end_ms);
	sqlite3_bind_double(ins, 5, r->value);
	return sqlite3_step(ins) == SQLITE_DONE ? 0 : 1;
}

/* The stored intervals as a table interval_rows (metric, layer, t_start,
 * t_end, value) of the test's own in-memory database, read back through
 * the store's read path once the readings submitted so far are committed.
 * Returns that database. */
static sqlite3 *load_interval_rows(struct fixture *f)
{
	char err[256];
	if (!f->scratch)
		assert_int_equal(sqlite3_open(":memory:", &f->scratch), SQLITE_OK);
	assert_int_equal(store_sync(f->st, err, sizeof(err)), 0);
	assert_int_equal(sqlite3_exec(f->scratch, "DROP TABLE IF EXISTS interval_rows; CREATE TABLE interval_rows "
						  "(metric TEXT, layer TEXT, t_start INTEGER, t_end INTEGER, value REAL)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_stmt *ins;
	assert_int_equal(sqlite3_prepare_v2(f->scratch, "INSERT INTO interval_rows VALUES (?1, ?2, ?3, ?4, ?5)", -1,
					    &ins, NULL),
			 SQLITE_OK);
	struct history_filter all = { .since_ms = 0, .until_ms = INT64_MAX };
	if (history_scan(store_db(f->st), &all, copy_row, ins, err, sizeof(err)) != 0)
		fail_msg("reading the stored intervals: %s", err);
	sqlite3_finalize(ins);
	return f->scratch;
}

/* Where sql reads: the stored intervals as a table, or the store itself. */
static sqlite3 *db_for(struct fixture *f, const char *sql)
{
	return strstr(sql, "interval_rows") ? load_interval_rows(f) : store_db(f->st);
}

static int64_t scalar(struct fixture *f, const char *sql)
{
	sqlite3 *db = db_for(f, sql);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return v;
}

static char *text_of(struct fixture *f, const char *sql)
{
	static char buf[1024];
	sqlite3 *db = db_for(f, sql);
	sqlite3_stmt *st;
	buf[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static void wait_hooks(struct fixture *f, int max_ms)
{
	int64_t deadline = clock_monotonic_ms() + max_ms;
	while (sla_engine_hooks_running(f->e) > 0 && clock_monotonic_ms() < deadline) {
		struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
}

static void test_alert_lifecycle(void **state)
{
	struct fixture *f = *state;
	char hook[256];
	snprintf(hook, sizeof(hook),
		 "hook = { command = \"echo $VIGIL_EVENT $VIGIL_VM $VIGIL_HOST $VIGIL_CAUSE $VIGIL_P_VIOLATION "
		 "$VIGIL_PEAK $VIGIL_ALERT_ID >> %s\"; timeout = 5; };",
		 f->hook_out);
	start_engine(f, hook);

	feed(f, 0, 10, "running"); /* OK: 0.05 */
	feed(f, 1, 90, "running"); /* CRITICAL: 0.9 */
	feed(f, 2, 90, "running");
	assert_int_equal(scalar(f, "SELECT count(*) FROM sla_alerts"), 0); /* K - 1 = 2 evaluations */
	feed(f, 3, 90, "running");
	assert_int_equal(scalar(f, "SELECT count(*) FROM sla_alerts WHERE t_end IS NULL"), 1);
	assert_int_equal(scalar(f, "SELECT t_start FROM sla_alerts"), T0 + 1 * STEP); /* when the run began */
	assert_string_equal(text_of(f, "SELECT cause_node || '=' || cause_state FROM sla_alerts"),
			    "PROCESSING=CRITICAL");
	assert_int_equal(scalar(f, "SELECT round(cause_p * 100) FROM sla_alerts"), 5);
	assert_non_null(strstr(text_of(f, "SELECT cause FROM sla_alerts"), "cpu.used_pct 90 >= 80"));
	assert_string_equal(text_of(f, "SELECT evidence FROM sla_alerts"), "PROCESSING=CRITICAL HOST=UP");

	feed(f, 4, 75, "running"); /* below 80 but above 72: threshold hysteresis keeps CRITICAL */
	feed(f, 5, 60, "running"); /* WARNING: 0.45, between clear and alert level: stays open */
	feed(f, 6, 10, "running"); /* OK: 0.05, first below the clear level */
	assert_int_equal(scalar(f, "SELECT count(*) FROM sla_alerts WHERE t_end IS NULL"), 1);
	feed(f, 7, 10, "running"); /* second: closes */
	assert_int_equal(scalar(f, "SELECT count(*) FROM sla_alerts WHERE t_end IS NULL"), 0);
	assert_int_equal(scalar(f, "SELECT t_end FROM sla_alerts"), T0 + 6 * STEP);
	assert_int_equal(scalar(f, "SELECT round(peak * 100) FROM sla_alerts"), 90);

	/* The states and P(violation) are interval rows like any reading. */
	assert_string_equal(text_of(f, "SELECT group_concat(value || '@' || (t_start - 1790000000000) || '-' || "
				       "(t_end - 1790000000000), ' ') FROM (SELECT * FROM interval_rows "
				       "WHERE metric = 'sla.processing' ORDER BY t_start)"),
			    "0.0@0-1000 2.0@1000-5000 1.0@5000-6000 0.0@6000-8000");
	assert_int_equal(scalar(f, "SELECT count(*) FROM interval_rows WHERE metric = 'sla.p_violation'"), 4);
	assert_string_equal(text_of(f, "SELECT DISTINCT layer FROM interval_rows WHERE metric LIKE 'sla.%'"), "sla");

	wait_hooks(f, 3000);
	char expected[256], got[512] = "";
	FILE *out = fopen(f->hook_out, "r");
	assert_non_null(out);
	size_t n = fread(got, 1, sizeof(got) - 1, out);
	got[n] = '\0';
	fclose(out);
	snprintf(expected, sizeof(expected),
		 "open vm1 hv1 PROCESSING=CRITICAL 0.9000 0.9000 1\nclose vm1 hv1 PROCESSING=CRITICAL 0.0500 0.9000 1\n");
	assert_string_equal(got, expected);
}

static void test_queries_read_back(void **state)
{
	struct fixture *f = *state;
	start_engine(f, "");
	for (int k = 0; k < 4; k++)
		feed(f, k, 90, "running");
	char err[256];
	Vigil__SlaExplainReply *x;
	/* From the engine's live state... */
	struct sla_live_view live = sla_engine_live_view(f->e);
	assert_int_equal(sla_query_explain(store_db(f->st), sla_engine_model(f->e), &live, "vm1", T0 + 5 * STEP, &x, err,
					   sizeof(err)),
			 0);
	assert_true(x->live);
	assert_true(x->p_violation > 0.89 && x->p_violation < 0.91);
	assert_int_equal(x->n_causes, 1);
	assert_string_equal(x->causes[0]->node, "PROCESSING");
	assert_string_equal(x->evidence[0]->metric, "cpu.used_pct");
	assert_true(x->evidence[0]->value == 90 && x->evidence[0]->threshold == 80);
	assert_non_null(x->open_alert);
	vigil__sla_explain_reply__free_unpacked(x, NULL);
	/* ...and from the stored rows alone, as vigilctl --db does. */
	struct sla_model m;
	assert_int_equal(sla_model_from_db(store_db(f->st), &m, err, sizeof(err)), 0);
	assert_non_null(strstr(m.origin, "sla-small.net"));
	assert_int_equal(sla_query_explain(store_db(f->st), &m, NULL, UUID, T0 + 5 * STEP, &x, err, sizeof(err)), 0);
	assert_false(x->live);
	assert_string_equal(x->evidence[0]->state, "CRITICAL");
	assert_string_equal(x->evidence[1]->state, "UP");
	assert_true(x->p_violation > 0.89 && x->p_violation < 0.91);
	assert_string_equal(x->target, "SLA=VIOLATED");
	vigil__sla_explain_reply__free_unpacked(x, NULL);
	sla_model_free(&m);
	assert_int_equal(sla_query_explain(store_db(f->st), sla_engine_model(f->e), NULL, "nope", T0, &x, err,
					   sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "no SLA evaluation of vm nope"));

	Vigil__AlertsQuery q = VIGIL__ALERTS_QUERY__INIT;
	Vigil__AlertsReply *a;
	q.open_only = 1;
	assert_int_equal(sla_query_alerts(store_db(f->st), &q, T0 + 5 * STEP, &a, err, sizeof(err)), 0);
	assert_int_equal(a->n_alerts, 1);
	assert_int_equal(a->alerts[0]->t_end_ms, 0);
	assert_string_equal(a->alerts[0]->vm, "vm1");
	vigil__alerts_reply__free_unpacked(a, NULL);
	q.since_ms = T0 + 100 * STEP; /* an open alert is still current then */
	assert_int_equal(sla_query_alerts(store_db(f->st), &q, T0 + 200 * STEP, &a, err, sizeof(err)), 0);
	assert_int_equal(a->n_alerts, 1);
	vigil__alerts_reply__free_unpacked(a, NULL);
}

/* An alert survives a collector restart and closes afterwards. */
static void test_open_alert_reloaded(void **state)
{
	struct fixture *f = *state;
	start_engine(f, "");
	for (int k = 0; k < 3; k++)
		feed(f, k, 90, "running");
	sla_engine_free(f->e);
	f->e = NULL;
	start_engine(f, "");
	feed(f, 3, 10, "running");
	feed(f, 4, 10, "running");
	assert_int_equal(scalar(f, "SELECT count(*) FROM sla_alerts"), 1);
	assert_int_equal(scalar(f, "SELECT t_end FROM sla_alerts"), T0 + 3 * STEP);
}

/* The engine numbers its alerts; after a restart the numbers go on from
 * the largest stored, as SQLite's own would, and the hook is told the id
 * of the row. */
static void test_alert_ids_continue_after_restart(void **state)
{
	struct fixture *f = *state;
	char hook[256];
	snprintf(hook, sizeof(hook), "alert_after = 1; hook = { command = \"echo $VIGIL_EVENT $VIGIL_ALERT_ID >> %s\"; };",
		 f->hook_out);
	start_engine(f, hook);
	feed(f, 0, 90, "running"); /* opens 1 */
	feed(f, 1, 10, "running");
	feed(f, 2, 10, "running"); /* closes 1 */
	wait_hooks(f, 3000);
	sla_engine_free(f->e);
	f->e = NULL;
	start_engine(f, hook);
	feed(f, 3, 90, "running"); /* opens 2 */
	wait_hooks(f, 3000);
	assert_string_equal(text_of(f, "SELECT group_concat(id || ':' || (t_end IS NULL), ' ') FROM "
				       "(SELECT * FROM sla_alerts ORDER BY id)"),
			    "1:0 2:1");
	char got[256] = "";
	FILE *out = fopen(f->hook_out, "r");
	assert_non_null(out);
	size_t n = fread(got, 1, sizeof(got) - 1, out);
	got[n] = '\0';
	fclose(out);
	assert_string_equal(got, "open 1\nclose 1\nopen 2\n");
}

static void test_hanging_hook_is_killed_and_does_not_stall(void **state)
{
	struct fixture *f = *state;
	start_engine(f, "alert_after = 1; hook = { command = \"sleep 30\"; timeout = 1; };");
	/* Capture the log to see the kill reported. */
	char log_path[128];
	snprintf(log_path, sizeof(log_path), "%s/log", f->dir);
	int saved = dup(STDERR_FILENO), fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDERR_FILENO);
	close(fd);
	int64_t started = clock_monotonic_ms();
	double worst = feed(f, 0, 90, "running"); /* opens: the hook starts and hangs */
	assert_int_equal(sla_engine_hooks_running(f->e), 1);
	for (int k = 1; k < 6; k++) {
		double took = feed(f, k, 90, "running");
		worst = took > worst ? took : worst;
	}
	assert_true(worst < 500); /* evaluation never waited for the hook */
	wait_hooks(f, 5000);
	int64_t elapsed = clock_monotonic_ms() - started;
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(sla_engine_hooks_running(f->e), 0);
	assert_true(elapsed >= 1000 && elapsed < 4000);
	FILE *lf = fopen(log_path, "r");
	char line[512];
	int killed = 0;
	while (lf && fgets(line, sizeof(line), lf))
		killed |= strstr(line, "killed after its timeout") != NULL;
	if (lf)
		fclose(lf);
	assert_true(killed);
}

static void test_silent_host_is_down(void **state)
{
	struct fixture *f = *state;
	start_engine(f, "alert_after = 2;");
	feed(f, 0, 10, "running");
	feed(f, 1, 10, "running");
	int64_t last = T0 + 2 * STEP;
	/* 2.5 intervals of silence: not yet (stale_after = 3). */
	tick(f, last + 2500);
	assert_int_equal(scalar(f, "SELECT count(*) FROM interval_rows WHERE metric = 'sla.host' AND value = 1"), 0);
	tick(f, last + 3500);
	/* Once DOWN, the row is extended every 10 s, not every interval. */
	tick(f, last + 4600);
	assert_int_equal(scalar(f, "SELECT t_end FROM interval_rows WHERE metric = 'sla.host' AND value = 1"),
			 last + 3500);
	tick(f, last + 13600);
	assert_int_equal(scalar(f, "SELECT count(*) FROM interval_rows WHERE metric = 'sla.host' AND value = 1"), 1);
	/* The DOWN row continues from the last data, without a gap. */
	assert_int_equal(scalar(f, "SELECT t_start FROM interval_rows WHERE metric = 'sla.host' AND value = 1"), last);
	assert_int_equal(scalar(f, "SELECT t_end FROM interval_rows WHERE metric = 'sla.host' AND value = 1"),
			 last + 13600);
	assert_string_equal(text_of(f, "SELECT cause_node || '=' || cause_state FROM sla_alerts"), "HOST=DOWN");
	assert_non_null(strstr(text_of(f, "SELECT cause FROM sla_alerts"), "no data from host hv1"));
	/* A VM that is not running is DOWN too. */
	feed(f, 16, 10, "paused");
	assert_int_equal(scalar(f, "SELECT value FROM interval_rows WHERE metric = 'sla.host' ORDER BY t_start DESC LIMIT 1"), 1);
	/* Availability: up [0, 2000], down [2000, 17000]: the paused
	 * interval [16000, 17000] is down as well. */
	Vigil__AvailabilityQuery q = VIGIL__AVAILABILITY_QUERY__INIT;
	Vigil__AvailabilityReply *r;
	char err[256];
	q.vm = "vm1";
	q.window_ms = 30LL * 86400000;
	q.target_pct = 99.9;
	assert_int_equal(sla_query_availability(store_db(f->st), &q, T0 + 18 * STEP, &r, err, sizeof(err)), 0);
	assert_int_equal(r->window_start_ms, T0);
	assert_int_equal(r->window_end_ms, T0 + 17 * STEP);
	assert_int_equal(r->uptime_ms, 2 * STEP);
	assert_int_equal(r->downtime_ms, 15 * STEP);
	assert_int_equal(r->n_outages, 1);
	assert_false(r->target_met);
	vigil__availability_reply__free_unpacked(r, NULL);
}

/* The collector evaluates a batch before the store has judged it, so a
 * probe resending an unacknowledged batch must not count twice toward
 * alert_after. */
static void test_repeated_batch_counts_once(void **state)
{
	struct fixture *f = *state;
	start_engine(f, "alert_after = 3;");
	feed(f, 0, 90, "running");
	feed(f, 1, 90, "running");
	struct vm_target t = { .name = "vm1", .uuid = UUID, .source = VM_SOURCE_LIBVIRT, .pid = 1 };
	snprintf(t.state, sizeof(t.state), "running");
	Vigil__Batch *again = batch_new("hv1", f->seq, T0 + 1 * STEP, T0 + 2 * STEP, STEP);
	batch_add_sample(batch_add_vm(again, &t, 1), "cpu.used_pct", 90, NULL, NULL);
	sla_engine_on_batch(f->e, again, T0 + 2 * STEP);
	sla_engine_on_batch(f->e, again, T0 + 2 * STEP);
	assert_null(sla_engine_take_readings(f->e)); /* nothing evaluated, nothing to store */
	batch_free(again);
	assert_int_equal(scalar(f, "SELECT count(*) FROM sla_alerts"), 0);
	feed(f, 2, 90, "running");
	assert_int_equal(scalar(f, "SELECT count(*) FROM sla_alerts"), 1);
}

int main(void)
{
	log_init("test", LOG_LVL_INFO);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alert_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_alert_reloaded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_ids_continue_after_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hanging_hook_is_killed_and_does_not_stall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_host_is_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeated_batch_counts_once, setup, teardown),
	};
	return cmocka_run_group_tests_name("sla_alerts", tests, NULL, NULL);
}
