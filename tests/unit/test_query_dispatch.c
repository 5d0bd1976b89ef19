/* The query dispatcher (collector/query/dispatch.h): every read request is
 * answered with its reply over a read-only connection, at the reader's
 * clock and row limit; anything else, and every failure, with an Error
 * that says why; SLA explain uses the reader's model, or the recorded one,
 * and reads the live engine's state under its lock. ASan checks that
 * query_reply_free releases every reply. */
#include <pthread.h>
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
#include "dispatch.h"
#include "query.h"
#include "reader.h"
#include "sla_live.h"
#include "sla_net.h"
#include "store.h"

#define T0 1790000000000LL
#define STEP 1000
#define UUID "11111111-2222-4333-8444-555555555555"
#define INTERVALS 12
#define NOW (T0 + (INTERVALS + 5) * STEP)

/* The small network of tests/data/sla-small.net. */
#define MODEL_PATH VIGIL_TEST_DATA "/sla-small.net"

struct fixture {
	char dir[64], db[96], model[512];
	struct store *st;
	struct sla_live live;
	struct store_reader *reader;
};

/* A store with one VM's INTERVALS intervals, busy from the fourth on (an
 * alert opens), evaluated by a live engine; and a read connection to it. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512], text[1024];
	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-test-dispatch-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/vigil.db", f->dir);
	snprintf(f->model, sizeof(f->model), "%s", MODEL_PATH);
	if (store_open(&f->st, f->db, 0, err, sizeof(err)) < 0)
		fail_msg("%s", err);

	snprintf(text, sizeof(text),
		 "sla = { model = \"%s\"; alert_after = 2;\n"
		 "  thresholds = ( { node = \"PROCESSING\"; metric = \"cpu.used_pct\"; warning = 50; critical = 80; } ); };",
		 f->model);
	config_t cfg;
	config_init(&cfg);
	assert_int_equal(config_read_string(&cfg, text), CONFIG_TRUE);
	assert_int_equal(sla_live_setup(&f->live, &cfg, "test.conf"), 0);
	config_destroy(&cfg);
	assert_non_null(f->live.engine);
	if (sla_engine_attach(f->live.engine, f->st, T0, err, sizeof(err)) < 0)
		fail_msg("%s", err);

	for (int k = 0; k < INTERVALS; k++) {
		struct vm_target t = { .name = "vm1", .uuid = UUID, .state = "running", .source = VM_SOURCE_LIBVIRT,
				       .pid = 1 };
		Vigil__Batch *b = batch_new("hv1", (uint64_t)k + 1, T0 + k * STEP, T0 + (k + 1) * STEP, STEP);
		batch_add_sample(batch_add_vm(b, &t, 1), "cpu.used_pct", k < 3 ? 10 : 90, NULL, NULL);
		assert_int_equal(store_batch(f->st, b, err, sizeof(err)), STORE_STORED);
		sla_engine_on_batch(f->live.engine, b, T0 + (k + 1) * STEP);
		sla_submit_readings(f->st, sla_engine_take_readings(f->live.engine));
		batch_free(b);
	}
	assert_int_equal(store_sync(f->st, err, sizeof(err)), 0);
	if (store_reader_open(&f->reader, f->db, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_reader_close(f->reader);
	sla_live_stop(&f->live);
	store_close(f->st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct query_reader reader_of(struct fixture *f)
{
	struct query_reader r = { .store = f->reader, .now_ms = NOW, .max_rows = HISTORY_MAX_ROWS };
	return r;
}

static Vigil__Envelope *ask(const struct query_reader *r, Vigil__Envelope *req)
{
	Vigil__Envelope *reply = NULL;
	assert_int_equal(query_dispatch(r, req, &reply), 0);
	assert_non_null(reply);
	return reply;
}

/* The reply must be of kind want; an Error's message is shown. */
static void expect_kind(const Vigil__Envelope *reply, Vigil__Envelope__BodyCase want)
{
	if (reply->body_case != want)
		fail_msg("reply kind %d, want %d%s%s", reply->body_case, want,
			 reply->body_case == VIGIL__ENVELOPE__BODY_ERROR ? ": " : "",
			 reply->body_case == VIGIL__ENVELOPE__BODY_ERROR ? reply->error->message : "");
}

static void expect_error(const Vigil__Envelope *reply, Vigil__Error__Code code, const char *says)
{
	expect_kind(reply, VIGIL__ENVELOPE__BODY_ERROR);
	assert_int_equal(reply->error->code, code);
	if (!strstr(reply->error->message, says))
		fail_msg("error '%s' does not say '%s'", reply->error->message, says);
}

static void test_every_read_request_is_answered(void **state)
{
	struct fixture *f = *state;
	struct query_reader r = reader_of(f);
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT, *reply;

	Vigil__StatusQuery status = VIGIL__STATUS_QUERY__INIT;
	req.body_case = VIGIL__ENVELOPE__BODY_STATUS_QUERY;
	req.status_query = &status;
	reply = ask(&r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_STATUS_REPLY);
	assert_int_equal(reply->status_reply->n_vms, 1);
	assert_int_equal(reply->status_reply->now_ms, NOW); /* the reader's clock */
	query_reply_free(reply);

	Vigil__HistoryQuery history = VIGIL__HISTORY_QUERY__INIT;
	history.vm = "vm1";
	history.metric = "cpu.used_pct";
	req.body_case = VIGIL__ENVELOPE__BODY_HISTORY_QUERY;
	req.history_query = &history;
	reply = ask(&r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_HISTORY_REPLY);
	assert_string_equal(reply->history_reply->tier, "raw");
	assert_int_equal(reply->history_reply->n_rows, 2); /* 10 for three intervals, then 90 */
	query_reply_free(reply);

	Vigil__HostsQuery hosts = VIGIL__HOSTS_QUERY__INIT;
	req.body_case = VIGIL__ENVELOPE__BODY_HOSTS_QUERY;
	req.hosts_query = &hosts;
	reply = ask(&r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_HOSTS_REPLY);
	assert_int_equal(reply->hosts_reply->n_hosts, 1);
	query_reply_free(reply);

	/* Strings of a request built in process may be NULL. */
	Vigil__VmsQuery vms = VIGIL__VMS_QUERY__INIT;
	vms.host = NULL;
	req.body_case = VIGIL__ENVELOPE__BODY_VMS_QUERY;
	req.vms_query = &vms;
	reply = ask(&r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_VMS_REPLY);
	assert_int_equal(reply->vms_reply->n_vms, 1);
	query_reply_free(reply);

	Vigil__ShowQuery show = VIGIL__SHOW_QUERY__INIT;
	show.vm = UUID;
	req.body_case = VIGIL__ENVELOPE__BODY_SHOW_QUERY;
	req.show_query = &show;
	reply = ask(&r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_SHOW_REPLY);
	assert_true(reply->show_reply->n_current >= 2); /* cpu.used_pct and the sla.* rows */
	query_reply_free(reply);

	Vigil__SlaExplainQuery explain = VIGIL__SLA_EXPLAIN_QUERY__INIT;
	explain.vm = "vm1";
	req.body_case = VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_QUERY;
	req.sla_explain_query = &explain;
	reply = ask(&r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_REPLY);
	assert_true(reply->sla_explain_reply->p_violation > 0.89);
	query_reply_free(reply);

	Vigil__AlertsQuery alerts = VIGIL__ALERTS_QUERY__INIT;
	req.body_case = VIGIL__ENVELOPE__BODY_ALERTS_QUERY;
	req.alerts_query = &alerts;
	reply = ask(&r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_ALERTS_REPLY);
	assert_int_equal(reply->alerts_reply->n_alerts, 1);
	assert_string_equal(reply->alerts_reply->alerts[0]->cause_node, "PROCESSING");
	query_reply_free(reply);

	Vigil__AvailabilityQuery avail = VIGIL__AVAILABILITY_QUERY__INIT;
	avail.vm = "vm1";
	avail.window_ms = 3600000;
	avail.target_pct = 99.9;
	req.body_case = VIGIL__ENVELOPE__BODY_AVAILABILITY_QUERY;
	req.availability_query = &avail;
	reply = ask(&r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_AVAILABILITY_REPLY);
	assert_int_equal(reply->availability_reply->n_outages, 0);
	assert_string_equal(reply->availability_reply->vm, "vm1");
	query_reply_free(reply);
}

static void test_other_messages_and_failures_get_errors(void **state)
{
	struct fixture *f = *state;
	struct query_reader r = reader_of(f);
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT, *reply;

	/* Not read requests: the server's own stats, a batch, replies. */
	static const Vigil__Envelope__BodyCase not_reads[] = {
		VIGIL__ENVELOPE__BODY__NOT_SET, VIGIL__ENVELOPE__BODY_STATS_QUERY, VIGIL__ENVELOPE__BODY_BATCH,
		VIGIL__ENVELOPE__BODY_ACK, VIGIL__ENVELOPE__BODY_STATUS_REPLY,
	};
	Vigil__StatsQuery stats = VIGIL__STATS_QUERY__INIT;
	for (size_t i = 0; i < sizeof(not_reads) / sizeof(not_reads[0]); i++) {
		req.body_case = not_reads[i];
		req.stats_query = &stats; /* never read: the union's pointer */
		reply = ask(&r, &req);
		expect_error(reply, VIGIL__ERROR__CODE__MALFORMED, "is not a request");
		query_reply_free(reply);
	}

	Vigil__ShowQuery show = VIGIL__SHOW_QUERY__INIT;
	show.vm = "nosuch";
	req.body_case = VIGIL__ENVELOPE__BODY_SHOW_QUERY;
	req.show_query = &show;
	reply = ask(&r, &req);
	expect_error(reply, VIGIL__ERROR__CODE__STORAGE, "no VM named 'nosuch'");
	query_reply_free(reply);

	Vigil__HistoryQuery history = VIGIL__HISTORY_QUERY__INIT;
	history.vm = "vm1";
	history.since_ms = T0 + 5 * STEP;
	history.until_ms = T0;
	req.body_case = VIGIL__ENVELOPE__BODY_HISTORY_QUERY;
	req.history_query = &history;
	reply = ask(&r, &req);
	expect_error(reply, VIGIL__ERROR__CODE__STORAGE, "ends before it starts");
	query_reply_free(reply);

	/* The SLA queries have always failed as UNKNOWN. */
	Vigil__SlaExplainQuery explain = VIGIL__SLA_EXPLAIN_QUERY__INIT;
	explain.vm = "nosuch";
	req.body_case = VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_QUERY;
	req.sla_explain_query = &explain;
	reply = ask(&r, &req);
	expect_error(reply, VIGIL__ERROR__CODE__UNKNOWN, "nosuch");
	query_reply_free(reply);

	Vigil__AvailabilityQuery avail = VIGIL__AVAILABILITY_QUERY__INIT;
	avail.vm = "nosuch";
	avail.window_ms = 3600000;
	avail.target_pct = 99.9;
	req.body_case = VIGIL__ENVELOPE__BODY_AVAILABILITY_QUERY;
	req.availability_query = &avail;
	reply = ask(&r, &req);
	expect_error(reply, VIGIL__ERROR__CODE__UNKNOWN, "no sla.host intervals");
	query_reply_free(reply);
}

static void test_history_row_limit(void **state)
{
	struct fixture *f = *state;
	struct query_reader r = reader_of(f);
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT, *reply;
	Vigil__HistoryQuery history = VIGIL__HISTORY_QUERY__INIT;
	history.vm = "vm1";
	req.body_case = VIGIL__ENVELOPE__BODY_HISTORY_QUERY;
	req.history_query = &history;

	r.max_rows = 0; /* vigilctl --db: everything */
	reply = ask(&r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_HISTORY_REPLY);
	size_t all = reply->history_reply->n_rows;
	assert_true(all > 3);
	assert_false(reply->history_reply->truncated);
	query_reply_free(reply);

	r.max_rows = 3;
	reply = ask(&r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_HISTORY_REPLY);
	assert_int_equal(reply->history_reply->n_rows, 3);
	assert_true(reply->history_reply->truncated);
	query_reply_free(reply);
}

static Vigil__Envelope *explain(const struct query_reader *r, const char *vm)
{
	static Vigil__SlaExplainQuery q;
	static Vigil__Envelope req;
	vigil__sla_explain_query__init(&q);
	vigil__envelope__init(&req);
	q.vm = (char *)vm;
	req.body_case = VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_QUERY;
	req.sla_explain_query = &q;
	Vigil__Envelope *reply = ask(r, &req);
	expect_kind(reply, VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_REPLY);
	return reply;
}

static void test_explain_model_and_live_state(void **state)
{
	struct fixture *f = *state;
	struct query_reader r = reader_of(f);

	/* No live state, no model: the stored rows and the recorded model. */
	Vigil__Envelope *reply = explain(&r, "vm1");
	assert_false(reply->sla_explain_reply->live);
	assert_non_null(strstr(reply->sla_explain_reply->model, "as recorded by the collector"));
	query_reply_free(reply);

	/* The model given (vigilctl --db sla explain --model FILE). */
	char err[512];
	struct bn net;
	struct sla_model m;
	struct sla_config c;
	sla_config_defaults(&c);
	assert_int_equal(bn_load_model(&net, f->model, err, sizeof(err)), 0);
	assert_int_equal(sla_model_init(&m, &net, "the given model", &c, err, sizeof(err)), 0);
	r.model = &m;
	reply = explain(&r, "vm1");
	assert_string_equal(reply->sla_explain_reply->model, "the given model");
	query_reply_free(reply);
	sla_model_free(&m);

	/* The collector's engine: its state, under its lock, released after. */
	struct sla_live_view live = sla_live_query_view(&f->live);
	r.live = &live;
	r.model = sla_live_model(&f->live);
	reply = explain(&r, "vm1");
	assert_true(reply->sla_explain_reply->live);
	assert_true(reply->sla_explain_reply->p_violation > 0.89);
	query_reply_free(reply);
	assert_int_equal(pthread_mutex_trylock(&f->live.mu), 0);
	pthread_mutex_unlock(&f->live.mu);
}

/* A live view that records whether it was read under its lock. */
struct fake_live {
	int locked, locks, unlocks, views, unlocked_views;
};

static int fake_view(const void *ctx, const char *vm, struct sla_vm_view *out)
{
	struct fake_live *l = (struct fake_live *)ctx;
	(void)vm;
	(void)out;
	l->views++;
	l->unlocked_views += !l->locked;
	return -1; /* unknown to the engine: stored rows are the evidence */
}

static void fake_lock(const void *ctx)
{
	struct fake_live *l = (struct fake_live *)ctx;
	l->locked = 1;
	l->locks++;
}

static void fake_unlock(const void *ctx)
{
	struct fake_live *l = (struct fake_live *)ctx;
	l->locked = 0;
	l->unlocks++;
}

static void test_explain_reads_live_state_under_its_lock(void **state)
{
	struct fixture *f = *state;
	struct fake_live fake = { 0 };
	struct sla_live_view live = { fake_view, &fake, fake_lock, fake_unlock };
	struct query_reader r = reader_of(f);
	r.live = &live;
	Vigil__Envelope *reply = explain(&r, "vm1");
	assert_false(reply->sla_explain_reply->live);
	query_reply_free(reply);
	assert_int_equal(fake.views, 1);
	assert_int_equal(fake.unlocked_views, 0);
	assert_int_equal(fake.locks, 1);
	assert_int_equal(fake.unlocks, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_read_request_is_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_messages_and_failures_get_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_row_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explain_model_and_live_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explain_reads_live_state_under_its_lock, setup, teardown),
	};
	return cmocka_run_group_tests_name("query_dispatch", tests, NULL, NULL);
}
