/* The interval store's semantics against real SQLite files: coalescing by
 * metric kind, the gauge deadband's maximum error, explicit gaps and
 * counter resets, totals recovered exactly, time-weighted rollups, retention
 * per tier, the tier a query reads, crash recovery from the journal, and
 * the byte codecs. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "history.h"
#include "migrations.h"
#include "query.h"
#include "rollup.h"
#include "segment.h"
#include "storage_config.h"
#include "store.h"
#include "wire.h"

/* 14 minutes past an hour of yesterday: recent enough for every tier's
 * retention (flushes apply it against the wall clock), on a minute boundary
 * so rollup buckets line up with the test's intervals. Set in main(). */
static int64_t T0;
#define STEP 1000
#define UUID1 "11111111-2222-4333-8444-555555555555"

struct fixture {
	char path[64];
	struct store *st;
	uint64_t seq;
};

static void remove_db(const char *path)
{
	char side[96];
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

static void open_with(struct fixture *f, const struct storage_config *cfg)
{
	char err[256];
	if (store_open_config(&f->st, f->path, cfg, err, sizeof(err)) < 0)
		fail_msg("store_open_config: %s", err);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/tmp/vigil-test-istore-XXXXXX");
	close(mkstemp(f->path));
	unlink(f->path);
	struct storage_config cfg;
	storage_config_defaults(&cfg);
	open_with(f, &cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	remove_db(f->path);
	free(f);
	return 0;
}

/* One batch for vm1 over interval k (k may be fractional in ms via off). */
struct reading {
	const char *metric;
	const char *tag_key, *tag_value;
	double value;
};

static enum store_result send_at(struct fixture *f, int64_t start, int64_t end, const struct reading *r, size_t n,
				 int reset)
{
	Vigil__Tag tags[8], *tag_ptr[8];
	Vigil__Sample smp[8], *smp_ptr[8];
	for (size_t i = 0; i < n; i++) {
		vigil__sample__init(&smp[i]);
		smp[i].metric = (char *)r[i].metric;
		smp[i].value = r[i].value;
		if (r[i].tag_key) {
			vigil__tag__init(&tags[i]);
			tags[i].key = (char *)r[i].tag_key;
			tags[i].value = (char *)r[i].tag_value;
			tag_ptr[i] = &tags[i];
			smp[i].tags = &tag_ptr[i];
			smp[i].n_tags = 1;
		}
		smp_ptr[i] = &smp[i];
	}
	Vigil__VmSamples vm = VIGIL__VM_SAMPLES__INIT, *vms[1] = { &vm };
	vm.name = "vm1";
	vm.uuid = UUID1;
	vm.state = "running";
	vm.source = "pid";
	vm.samples = smp_ptr;
	vm.n_samples = n;
	vm.counters_reset = reset;
	Vigil__Batch b = VIGIL__BATCH__INIT;
	b.host = "hv1";
	b.seq = ++f->seq;
	b.t_start_ms = T0 + start;
	b.t_end_ms = T0 + end;
	b.interval_ms = STEP;
	b.n_vms = 1;
	b.vms = vms;
	char err[256];
	enum store_result res = store_batch(f->st, &b, err, sizeof(err));
	if (res == STORE_FAILED)
		fail_msg("store_batch: %s", err);
	return res;
}

static void send1(struct fixture *f, int k, const char *metric, double value)
{
	struct reading r = { metric, NULL, NULL, value };
	send_at(f, (int64_t)k * STEP, (int64_t)(k + 1) * STEP, &r, 1, 0);
}

struct rows {
	int n;
	struct history_row r[4096];
};

static int keep(const struct history_row *row, void *arg)
{
	struct rows *set = arg;
	if (set->n < 4096) {
		set->r[set->n] = *row;
		set->r[set->n].host = set->r[set->n].vm = set->r[set->n].vm_uuid = NULL;
		set->r[set->n].metric = set->r[set->n].layer = set->r[set->n].unit = NULL;
		set->r[set->n].tags = NULL;
		set->r[set->n].kind = strcmp(row->kind, "counter") == 0 ? "counter" : strcmp(row->kind, "state") == 0 ? "state" : "gauge";
	}
	set->n++;
	return 0;
}

static struct rows *rows_of(struct fixture *f, const char *metric, int64_t since, int64_t until)
{
	static struct rows set;
	char err[256];
	memset(&set, 0, sizeof(set));
	struct history_filter q = { .vm = "vm1", .metric = metric, .since_ms = since, .until_ms = until };
	if (history_scan(store_db(f->st), &q, keep, &set, err, sizeof(err)) != 0)
		fail_msg("history_scan: %s", err);
	return &set;
}

static struct rows *all_rows(struct fixture *f, const char *metric)
{
	return rows_of(f, metric, 0, INT64_MAX);
}

static void flush(struct fixture *f, int64_t now_ms)
{
	char err[256];
	if (store_flush(f->st, now_ms, err, sizeof(err)) < 0)
		fail_msg("store_flush: %s", err);
}

static void reopen(struct fixture *f, const struct storage_config *cfg)
{
	struct storage_config defaults;
	storage_config_defaults(&defaults);
	store_close(f->st);
	open_with(f, cfg ? cfg : &defaults);
}

/* ---- coalescing by kind ---------------------------------------------------- */

static void test_counters_and_states_coalesce_only_when_equal(void **state)
{
	struct fixture *f = *state;
	const double counts[] = { 5, 5, 5, 6, 6, 5 };
	for (int k = 0; k < 6; k++) {
		struct reading r[] = { { "disk.read_ops", "dev", "vda", counts[k] }, { "host.up", NULL, NULL, 1 } };
		send_at(f, (int64_t)k * STEP, (int64_t)(k + 1) * STEP, r, 2, 0);
	}
	struct rows *rs = all_rows(f, "disk.read_ops");
	assert_int_equal(rs->n, 3);
	assert_int_equal(rs->r[0].samples, 3);
	assert_int_equal(rs->r[1].samples, 2);
	assert_true(rs->r[2].value == 5 && rs->r[2].samples == 1);
	assert_string_equal(rs->r[0].kind, "counter");
	rs = all_rows(f, "host.up");
	assert_int_equal(rs->n, 1);
	assert_int_equal(rs->r[0].samples, 6);
	assert_string_equal(rs->r[0].kind, "state");
}

static void test_gauge_deadband_absolute_and_relative(void **state)
{
	struct fixture *f = *state;
	struct storage_config cfg;
	storage_config_defaults(&cfg);
	struct deadband db[2] = { { "cpu.used_pct", 0.5, 0 }, { "mem.rss_bytes", 0, 0.01 } };
	cfg.deadbands = db;
	cfg.n_deadbands = 2;
	reopen(f, &cfg);
	const double cpu[] = { 10.0, 10.4, 9.6, 10.5, 10.51, 10.2 };
	const double rss[] = { 1000, 1009, 991, 1010, 1011, 1002 };
	for (int k = 0; k < 6; k++) {
		struct reading r[] = { { "cpu.used_pct", NULL, NULL, cpu[k] }, { "mem.rss_bytes", NULL, NULL, rss[k] },
				       { "cpu.wait_pct", NULL, NULL, cpu[k] } };
		send_at(f, (int64_t)k * STEP, (int64_t)(k + 1) * STEP, r, 3, 0);
	}
	/* 10.0 holds while readings stay within 0.5 of it; 10.51 does not. */
	struct rows *rs = all_rows(f, "cpu.used_pct");
	assert_int_equal(rs->n, 2);
	assert_true(rs->r[0].value == 10.0 && rs->r[0].samples == 4);
	assert_true(rs->r[1].value == 10.51 && rs->r[1].samples == 2);
	/* Within 1% of 1000 (10) holds; 1011 starts a row; 1002 is within 1% of it. */
	rs = all_rows(f, "mem.rss_bytes");
	assert_int_equal(rs->n, 2);
	assert_true(rs->r[0].value == 1000 && rs->r[0].samples == 4);
	/* A gauge without a deadband stays exact: every change is a row. */
	assert_int_equal(all_rows(f, "cpu.wait_pct")->n, 6);
}

static double uniform(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(*s >> 11) * 0x1.0p-53;
}

/* The documented maximum error: every reading sent is within the deadband
 * of the value stored for its interval. */
static void test_deadband_error_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct storage_config cfg;
	storage_config_defaults(&cfg);
	struct deadband db[1] = { { "cpu.used_pct", 2.0, 0 } };
	cfg.deadbands = db;
	cfg.n_deadbands = 1;
	reopen(f, &cfg);
	enum { N = 400 };
	static double sent[N];
	uint64_t seed = 42;
	double v = 50;
	for (int k = 0; k < N; k++) {
		v += (uniform(&seed) - 0.5) * 3;
		sent[k] = v;
		send1(f, k, "cpu.used_pct", v);
	}
	flush(f, 0);
	struct rows *rs = all_rows(f, "cpu.used_pct");
	assert_true(rs->n > 10 && rs->n < N); /* it coalesced, and not everything */
	double worst = 0;
	int checked = 0;
	for (int i = 0; i < rs->n; i++) {
		int first = (int)((rs->r[i].t_start_ms - T0) / STEP);
		for (unsigned j = 0; j < rs->r[i].samples; j++, checked++) {
			double e = fabs(sent[first + (int)j] - rs->r[i].value);
			if (e > worst)
				worst = e;
		}
	}
	assert_int_equal(checked, N);
	assert_true(worst <= 2.0);
	assert_true(worst > 1.0); /* the bound is what the deadband allows, not slack */
}

/* ---- gaps and resets ---------------------------------------------------------- */

static void test_reset_is_explicit_and_never_joined(void **state)
{
	struct fixture *f = *state;
	struct reading r = { "net.rx_bytes", "if", "vnet0", 100 };
	send_at(f, 0, STEP, &r, 1, 0);
	send_at(f, STEP, 2 * STEP, &r, 1, 0);
	/* Same value, but the VM's counters restarted: a new row, flagged. */
	send_at(f, 2 * STEP, 3 * STEP, &r, 1, 1);
	send_at(f, 3 * STEP, 4 * STEP, &r, 1, 0);
	struct rows *rs = all_rows(f, "net.rx_bytes");
	assert_int_equal(rs->n, 2);
	assert_int_equal(rs->r[0].t_end_ms, T0 + 2 * STEP);
	assert_int_equal(rs->r[1].t_start_ms, T0 + 2 * STEP);
	assert_int_equal(rs->r[1].flags & IV_RESET, IV_RESET);
	assert_int_equal(rs->r[1].flags & IV_GAP, 0);
	assert_int_equal(rs->r[0].flags & IV_RESET, 0);
	assert_int_equal(rs->r[1].samples, 2);
	/* And it survives a flush into segments and a restart. */
	reopen(f, NULL);
	rs = all_rows(f, "net.rx_bytes");
	assert_int_equal(rs->n, 2);
	assert_int_equal(rs->r[1].flags & IV_RESET, IV_RESET);
}

static void test_absent_series_closes_and_gap_is_flagged(void **state)
{
	struct fixture *f = *state;
	struct reading both[] = { { "cpu.used_pct", NULL, NULL, 7 }, { "disk.read_lat_p50_us", "dev", "vda", 48 } };
	send_at(f, 0, STEP, both, 2, 0);
	send_at(f, STEP, 2 * STEP, both, 1, 0); /* no latency in an interval without reads */
	send_at(f, 2 * STEP, 3 * STEP, both, 2, 0);
	struct rows *rs = all_rows(f, "disk.read_lat_p50_us");
	assert_int_equal(rs->n, 2);
	assert_int_equal(rs->r[0].t_end_ms, T0 + STEP);
	assert_int_equal(rs->r[1].t_start_ms, T0 + 2 * STEP);
	assert_int_equal(rs->r[1].flags & IV_GAP, IV_GAP);
	assert_int_equal(all_rows(f, "cpu.used_pct")->n, 1);
	/* The whole VM silent for 5 intervals: everything restarts after a gap. */
	send_at(f, 8 * STEP, 9 * STEP, both, 2, 0);
	rs = all_rows(f, "cpu.used_pct");
	assert_int_equal(rs->n, 2);
	assert_int_equal(rs->r[0].t_end_ms, T0 + 3 * STEP);
	assert_int_equal(rs->r[1].flags & IV_GAP, IV_GAP);
	assert_true(rs->r[1].open && !rs->r[0].open);
}

struct buckets {
	int n;
	struct history_bucket b[256];
};

static int keep_bucket(const struct history_bucket *b, void *arg)
{
	struct buckets *set = arg;
	if (set->n < 256) {
		set->b[set->n] = *b;
		set->b[set->n].id = NULL;
	}
	set->n++;
	return 0;
}

static struct buckets *buckets_of(struct fixture *f, const char *metric, enum tier tier, int64_t step, int64_t since,
				  int64_t until)
{
	static struct buckets set;
	char err[256];
	memset(&set, 0, sizeof(set));
	struct history_filter q = { .vm = "vm1", .metric = metric, .since_ms = since, .until_ms = until };
	if (history_rollups(store_db(f->st), &q, tier, step, keep_bucket, &set, err, sizeof(err)) != 0)
		fail_msg("history_rollups: %s", err);
	return &set;
}

/* ---- totals -------------------------------------------------------------------- */

static double window_total(struct rows *rs, int64_t t0, int64_t t1)
{
	double total = 0;
	for (int i = 0; i < rs->n; i++) {
		const struct history_row *r = &rs->r[i];
		/* Rows are whole intervals; count those inside the window. */
		int64_t lo = r->t_start_ms > t0 ? r->t_start_ms : t0, hi = r->t_end_ms < t1 ? r->t_end_ms : t1;
		if (hi > lo)
			total += r->value * (double)r->samples * (double)(hi - lo) / (double)(r->t_end_ms - r->t_start_ms);
	}
	return total;
}

static void test_window_totals_equal_what_was_sent(void **state)
{
	struct fixture *f = *state;
	enum { N = 300 };
	static double sent[N];
	uint64_t seed = 7;
	for (int k = 0; k < N; k++) {
		/* Runs of equal deltas, so rows cover several intervals. */
		sent[k] = k > 0 && uniform(&seed) < 0.6 ? sent[k - 1] : floor(uniform(&seed) * 4) * 4096;
		send1(f, k, "disk.write_bytes", sent[k]);
		if (k == N / 2)
			flush(f, 0); /* half from segments, half from the journal */
	}
	const int windows[][2] = { { 0, N }, { 10, 20 }, { 37, 211 }, { N / 2 - 3, N / 2 + 3 }, { 299, 300 } };
	for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
		double expect = 0;
		for (int k = windows[w][0]; k < windows[w][1]; k++)
			expect += sent[k];
		int64_t t0 = T0 + (int64_t)windows[w][0] * STEP, t1 = T0 + (int64_t)windows[w][1] * STEP;
		double got = window_total(rows_of(f, "disk.write_bytes", t0, t1), t0, t1);
		assert_true(fabs(got - expect) < 1e-6);
	}
	/* After a restart, the rows and the minute rollups' sums agree. */
	reopen(f, NULL);
	double expect = 0;
	for (int k = 0; k < 240; k++)
		expect += sent[k];
	double got = window_total(rows_of(f, "disk.write_bytes", T0, T0 + 240 * STEP), T0, T0 + 240 * STEP);
	assert_true(fabs(got - expect) < 1e-6);
	struct buckets *bs = buckets_of(f, "disk.write_bytes", TIER_1M, 60000, T0, T0 + 240 * STEP - 1);
	assert_int_equal(bs->n, 4);
	got = 0;
	for (int i = 0; i < 4; i++)
		got += bs->b[i].sum;
	assert_true(fabs(got - expect) < 1e-6);
}

/* ---- rollups ---------------------------------------------------------------------- */

/* ---- history replies -------------------------------------------------------- */

/* Rows that continue their series carry no names, on the wire as in
 * memory, and history_row_names() gives every row its series' names. */
static void test_history_reply_names_each_series_once(void **state)
{
	struct fixture *f = *state;
	for (int k = 0; k < 6; k++) {
		struct reading r[] = { { "cpu.used_pct", NULL, NULL, k }, { "net.tx_packets", "if", "vnet0", 10 + k } };
		send_at(f, (int64_t)k * STEP, (int64_t)(k + 1) * STEP, r, 2, 0);
	}
	Vigil__HistoryQuery q = VIGIL__HISTORY_QUERY__INIT;
	q.vm = "vm1";
	q.since_ms = T0;
	q.until_ms = T0 + 6 * STEP;
	Vigil__HistoryReply *r = NULL;
	char err[256];
	assert_int_equal(query_history(store_db(f->st), T0 + 6 * STEP, &q, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(r->n_rows, 12);
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	env.body_case = VIGIL__ENVELOPE__BODY_HISTORY_REPLY;
	env.history_reply = r;
	uint8_t *buf;
	size_t len;
	assert_int_equal(wire_pack(&env, &buf, &len), 0);
	Vigil__Error__Code code;
	Vigil__Envelope *back = wire_unpack(buf, len, T0, &code, err, sizeof(err));
	assert_non_null(back);
	const Vigil__HistoryReply *replies[] = { r, back->history_reply };
	for (int w = 0; w < 2; w++) {
		const Vigil__HistoryRow *names = NULL;
		int named = 0;
		assert_int_equal(replies[w]->n_rows, 12);
		for (size_t i = 0; i < replies[w]->n_rows; i++) {
			const Vigil__HistoryRow *row = replies[w]->rows[i];
			named += row->metric[0] != 0;
			names = history_row_names(row, names);
			int cpu = strcmp(names->metric, "cpu.used_pct") == 0;
			assert_true(cpu || strcmp(names->metric, "net.tx_packets") == 0);
			assert_string_equal(names->tags, cpu ? "" : "if=vnet0");
			assert_string_equal(names->vm, "vm1");
			assert_string_equal(names->host, "hv1");
			assert_string_equal(names->kind, cpu ? "gauge" : "counter");
			assert_true(row->value == (cpu ? 0 : 10) + (double)(row->t_start_ms - T0) / STEP);
		}
		assert_int_equal(named, 2);
	}
	free(buf);
	wire_free(back);
	history_reply_free(r);
}

/* Minute 0: 10 for 45 s then 50 for 15 s; minute 1: 20 throughout. */
static void feed_two_minutes(struct fixture *f)
{
	for (int k = 0; k < 120; k++) {
		struct reading r[] = { { "cpu.used_pct", NULL, NULL, k < 45 ? 10 : k < 60 ? 50 : 20 },
				       { "net.tx_packets", "if", "vnet0", k < 60 ? 2 : 3 } };
		send_at(f, (int64_t)k * STEP, (int64_t)(k + 1) * STEP, r, 2, 0);
	}
	/* One more sample so the second minute is complete. */
	struct reading r[] = { { "cpu.used_pct", NULL, NULL, 20 }, { "net.tx_packets", "if", "vnet0", 3 } };
	send_at(f, 120 * STEP, 121 * STEP, r, 2, 0);
}

static void check_minutes(struct buckets *bs)
{
	assert_true(bs->n >= 2);
	assert_int_equal(bs->b[0].start_ms, T0);
	assert_true(fabs(bs->b[0].mean - 20.0) < 1e-9); /* (10*45 + 50*15) / 60 */
	assert_true(bs->b[0].min == 10 && bs->b[0].max == 50 && bs->b[0].last == 50);
	assert_int_equal(bs->b[0].covered_ms, 60000);
	assert_true(bs->b[1].mean == 20 && bs->b[1].min == 20 && bs->b[1].max == 20);
}

static void test_rollups_are_time_weighted_in_every_tier(void **state)
{
	struct fixture *f = *state;
	feed_two_minutes(f);
	/* Before any flush the 1-minute tier has nothing stored: from raw. */
	check_minutes(buckets_of(f, "cpu.used_pct", TIER_1M, 60000, T0, T0 + 119 * STEP));
	check_minutes(buckets_of(f, "cpu.used_pct", TIER_RAW, 60000, T0, T0 + 119 * STEP));
	flush(f, 0);
	reopen(f, NULL);
	check_minutes(buckets_of(f, "cpu.used_pct", TIER_1M, 60000, T0, T0 + 119 * STEP));
	/* Two minutes in one step: the mean of the two, weighted by time. */
	struct buckets *bs = buckets_of(f, "cpu.used_pct", TIER_1M, 120000, T0, T0 + 119 * STEP);
	assert_true(fabs(bs->b[0].mean - 20.0) < 1e-9 && bs->b[0].max == 50);
	/* Counters: the step's sum is the total counted. */
	bs = buckets_of(f, "net.tx_packets", TIER_1M, 60000, T0, T0 + 119 * STEP);
	assert_true(fabs(bs->b[0].sum - 120) < 1e-9 && fabs(bs->b[1].sum - 180) < 1e-9);
	bs = buckets_of(f, "net.tx_packets", TIER_1H, 3600000, T0, T0 + 119 * STEP);
	assert_int_equal(bs->n, 1);
	assert_true(fabs(bs->b[0].sum - 303) < 1e-9); /* 60*2 + 61*3, the hour still open */
	assert_int_equal(bs->b[0].flags & IV_GAP, IV_GAP); /* only part of the hour has data */
}

/* ---- retention and tiers ------------------------------------------------------------ */

static int64_t segment_count(struct fixture *f, int tier)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM segments WHERE tier = %d", tier);
	assert_int_equal(sqlite3_prepare_v2(store_db(f->st), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_retention_per_tier(void **state)
{
	struct fixture *f = *state;
	struct storage_config cfg;
	storage_config_defaults(&cfg);
	cfg.retention_ms[TIER_RAW] = 3 * 3600000LL;
	cfg.retention_ms[TIER_1M] = 2 * 86400000LL;
	reopen(f, &cfg);
	feed_two_minutes(f);
	send1(f, 130, "cpu.used_pct", 99); /* closes the last row */
	flush(f, T0 + 3600000);
	assert_true(segment_count(f, TIER_RAW) > 0 && segment_count(f, TIER_1M) > 0);
	/* Four hours later the raw tier has expired; minutes remain. */
	flush(f, T0 + 4 * 3600000LL);
	assert_int_equal(segment_count(f, TIER_RAW), 0);
	assert_true(segment_count(f, TIER_1M) > 0);
	check_minutes(buckets_of(f, "cpu.used_pct", TIER_1M, 60000, T0, T0 + 119 * STEP));
	/* Three days later, only the hour tier would be left. */
	flush(f, T0 + 3 * 86400000LL);
	assert_int_equal(segment_count(f, TIER_1M), 0);
}

/* A flush that moves hours of data at once cuts raw segments per hour, so
 * recent queries and retention work on small pieces; rows read the same. */
static void test_flush_cuts_segments_by_period(void **state)
{
	struct fixture *f = *state;
	for (int h = 0; h < 3; h++)
		for (int k = 0; k < 10; k++)
			send1(f, h * 3600 + k, "cpu.used_pct", k % 3);
	struct rows before = *all_rows(f, "cpu.used_pct");
	flush(f, 0);
	assert_int_equal(segment_count(f, TIER_RAW), 3);
	struct rows *after = all_rows(f, "cpu.used_pct");
	assert_int_equal(after->n, before.n);
	assert_memory_equal(after->r, before.r, sizeof(before.r[0]) * (size_t)before.n);
}

static int same_bits(double a, double b);

/* How many segments of a tier start in the hour; *last_id (when not NULL)
 * gets the newest one's id. */
static int64_t segments_in_hour(struct fixture *f, int tier, int64_t hour, int64_t *last_id)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	assert_int_equal(sqlite3_prepare_v2(store_db(f->st),
					    "SELECT count(*), max(id) FROM segments "
					    "WHERE tier = ?1 AND t_first >= ?2 AND t_first < ?3",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int(st, 1, tier);
	sqlite3_bind_int64(st, 2, hour);
	sqlite3_bind_int64(st, 3, hour + 3600000);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		if (last_id)
			*last_id = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return n;
}

static void assert_same_buckets(const struct buckets *a, const struct buckets *b)
{
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n && i < 256; i++) {
		assert_int_equal(a->b[i].start_ms, b->b[i].start_ms);
		assert_int_equal(a->b[i].covered_ms, b->b[i].covered_ms);
		assert_int_equal(a->b[i].flags, b->b[i].flags);
		assert_true(same_bits(a->b[i].min, b->b[i].min) && same_bits(a->b[i].max, b->b[i].max));
		assert_true(same_bits(a->b[i].mean, b->b[i].mean) && same_bits(a->b[i].last, b->b[i].last));
		assert_true(same_bits(a->b[i].sum, b->b[i].sum));
	}
}

/* 2 h 50 min of 1 s samples with a flush every 5 minutes: no flush, the
 * ones that merge an hour's segments included, changes any answer, and
 * each whole hour ends as one raw and one minute segment. */
static void test_finished_hours_merge_into_one_segment(void **state)
{
	struct fixture *f = *state;
	static struct rows before;
	static struct buckets minutes, counted;
	int64_t hour1 = T0 - T0 % 3600000 + 3600000, end = hour1 + 2 * 3600000 + 50 * 60000;
	int last = (int)((end - T0) / STEP);
	for (int k = 0; k < last; k++) {
		struct reading r[2] = { { "cpu.used_pct", NULL, NULL, (double)((k / 20) % 7) * 1.25 },
					{ "net.tx_packets", NULL, NULL, (double)(k / 40 % 5) } };
		assert_int_equal(send_at(f, (int64_t)k * STEP, (int64_t)(k + 1) * STEP, r, 2, 0), STORE_STORED);
		if ((k + 1) % 300)
			continue;
		before = *all_rows(f, "cpu.used_pct");
		minutes = *buckets_of(f, "cpu.used_pct", TIER_1M, 60000, T0, end);
		counted = *buckets_of(f, "net.tx_packets", TIER_1M, 60000, T0, end);
		flush(f, 0);
		struct rows *after = all_rows(f, "cpu.used_pct");
		assert_int_equal(after->n, before.n);
		assert_memory_equal(after->r, before.r, sizeof(before.r[0]) * (size_t)before.n);
		assert_same_buckets(buckets_of(f, "cpu.used_pct", TIER_1M, 60000, T0, end), &minutes);
		assert_same_buckets(buckets_of(f, "net.tx_packets", TIER_1M, 60000, T0, end), &counted);
	}
	for (int64_t h = hour1; h < hour1 + 2 * 3600000; h += 3600000) {
		assert_int_equal(segments_in_hour(f, TIER_RAW, h, NULL), 1);
		assert_int_equal(segments_in_hour(f, TIER_1M, h, NULL), 1);
	}
	/* The hour in progress is merged by a clean stop. */
	assert_true(segments_in_hour(f, TIER_RAW, hour1 + 2 * 3600000, NULL) > 1);
	before = *all_rows(f, "cpu.used_pct");
	minutes = *buckets_of(f, "cpu.used_pct", TIER_1M, 60000, T0, end);
	reopen(f, NULL);
	assert_int_equal(segments_in_hour(f, TIER_RAW, hour1 + 2 * 3600000, NULL), 1);
	struct rows *after = all_rows(f, "cpu.used_pct");
	assert_int_equal(after->n, before.n);
	assert_memory_equal(after->r, before.r, sizeof(before.r[0]) * (size_t)before.n);
	assert_same_buckets(buckets_of(f, "cpu.used_pct", TIER_1M, 60000, T0, end), &minutes);
}

/* An hour one flush wrote as a single segment (and the hour before it,
 * which no segment held before the merge) is still written anew when it
 * is merged: flushes write at the fast zstd level, finished hours at the
 * tight one. */
static void test_lone_segment_of_a_finished_hour_is_rewritten(void **state)
{
	struct fixture *f = *state;
	static struct rows before;
	int64_t hour1 = T0 - T0 % 3600000 + 3600000;
	int mid = (int)((hour1 + 3600000 - T0) / STEP), last = mid + 50 * 60;
	for (int k = 0; k < last; k++) {
		struct reading r = { "cpu.used_pct", NULL, NULL, (double)((k / 20) % 7) * 1.25 };
		assert_int_equal(send_at(f, (int64_t)k * STEP, (int64_t)(k + 1) * STEP, &r, 1, 0), STORE_STORED);
		if (k + 1 != mid)
			continue;
		flush(f, 0);
		before = *all_rows(f, "cpu.used_pct");
	}
	int64_t flushed_id = 0, merged_id = 0;
	assert_int_equal(segments_in_hour(f, TIER_RAW, hour1, &flushed_id), 1);
	assert_int_equal(segments_in_hour(f, TIER_RAW, hour1 - 3600000, NULL), 1);
	flush(f, 0);
	assert_int_equal(segments_in_hour(f, TIER_RAW, hour1, &merged_id), 1);
	assert_true(merged_id > flushed_id);
	struct rows *after = all_rows(f, "cpu.used_pct");
	assert_true(after->n > before.n);
	assert_memory_equal(after->r, before.r, sizeof(before.r[0]) * (size_t)(before.n - 1));
}

static void test_tier_choice(void **state)
{
	(void)state;
	const int64_t ret[TIER_COUNT] = { 14 * 86400000LL, 90 * 86400000LL, 730 * 86400000LL };
	const int64_t now = 1790000000000LL, day = 86400000LL;
	int64_t step = 0;
	assert_int_equal(history_choose_tier(ret, now, now - day, &step), TIER_RAW);
	assert_int_equal(step, 0);
	/* 30 days at 1 h: the minute tier covers it, and the hour tier gives
	 * the same figures for less work. */
	step = 3600000;
	assert_int_equal(history_choose_tier(ret, now, now - 30 * day, &step), TIER_1H);
	step = 60000;
	assert_int_equal(history_choose_tier(ret, now, now - 30 * day, &step), TIER_1M);
	/* A 1 h step over the last day: raw still covers, but 1h divides it. */
	step = 3600000;
	assert_int_equal(history_choose_tier(ret, now, now - day, &step), TIER_1H);
	/* 15 s steps over a day: only raw has that resolution. */
	step = 15000;
	assert_int_equal(history_choose_tier(ret, now, now - day, &step), TIER_RAW);
	/* Intervals wanted over 30 days: raw has expired, so 1-minute rollups. */
	step = 0;
	assert_int_equal(history_choose_tier(ret, now, now - 30 * day, &step), TIER_1M);
	assert_int_equal(step, 60000);
	/* 30 s steps a year back: the hour tier, step raised to its resolution. */
	step = 30000;
	assert_int_equal(history_choose_tier(ret, now, now - 365 * day, &step), TIER_1H);
	assert_int_equal(step, 3600000);
}

/* ---- crash recovery ------------------------------------------------------------------- */

/* A child writes and exits without closing the store (no flush): all the
 * parent finds is what the group commits put in the journal. */
static void test_recovery_from_journal_after_crash(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	f->st = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		struct storage_config cfg;
		storage_config_defaults(&cfg);
		open_with(f, &cfg);
		for (int k = 0; k < 20; k++)
			send1(f, k, "cpu.used_pct", k < 10 ? 1 : 2);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct storage_config cfg;
	storage_config_defaults(&cfg);
	open_with(f, &cfg);
	f->seq = 20;
	struct rows *rs = all_rows(f, "cpu.used_pct");
	assert_int_equal(rs->n, 2);
	assert_true(rs->r[1].open && rs->r[1].samples == 10);
	/* The open interval carries on after the restart... */
	send1(f, 20, "cpu.used_pct", 2);
	rs = all_rows(f, "cpu.used_pct");
	assert_int_equal(rs->n, 2);
	assert_int_equal(rs->r[1].samples, 11);
	assert_int_equal(rs->r[1].t_end_ms, T0 + 21 * STEP);
	/* ...and a batch the dead writer had committed is a duplicate. */
	f->seq = 19;
	struct reading r = { "cpu.used_pct", NULL, NULL, 2 };
	assert_int_equal(send_at(f, 19 * STEP, 20 * STEP, &r, 1, 0), STORE_DUPLICATE);
	/* The minute in progress is whole: ten 1s, then eleven 2s. */
	struct buckets *bs = buckets_of(f, "cpu.used_pct", TIER_1M, 60000, T0, T0 + 20 * STEP);
	assert_int_equal(bs->n, 1);
	assert_int_equal(bs->b[0].covered_ms, 21000);
	assert_true(fabs(bs->b[0].mean - 32.0 / 21) < 1e-12);
}

/* ---- asynchronous derived readings ------------------------------------------------------ */

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int left, failed;
};

static void derived_done(struct store_req *r, enum store_result res, const char *err)
{
	struct waiter *w = r->arg;
	(void)err;
	pthread_mutex_lock(&w->mu);
	w->failed += res == STORE_FAILED;
	w->left--;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Readings submitted together share group commits: many VMs' SLA states
 * do not cost one fsync each. */
static void test_derived_requests_share_commits(void **state)
{
	struct fixture *f = *state;
	send1(f, 0, "cpu.used_pct", 1);
	enum { N = 40 };
	static struct store_req req[N];
	static Vigil__Sample smp[N];
	static Vigil__Sample *list[N];
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, N, 0 };
	struct store_stats before, after;
	store_get_stats(f->st, &before);
	for (int k = 0; k < N; k++) {
		vigil__sample__init(&smp[k]);
		smp[k].metric = "sla.p_violation";
		smp[k].value = k < N / 2 ? 0.25 : 0.75;
		list[k] = &smp[k];
		memset(&req[k], 0, sizeof(req[k]));
		req[k].kind = STORE_REQ_DERIVED;
		req[k].vm_uuid = UUID1;
		req[k].samples = &list[k];
		req[k].n_samples = 1;
		req[k].t_start_ms = T0 + (int64_t)k * STEP;
		req[k].t_end_ms = T0 + (int64_t)(k + 1) * STEP;
		req[k].interval_ms = STEP;
		req[k].done = derived_done;
		req[k].arg = &w;
		store_submit(f->st, &req[k]);
	}
	pthread_mutex_lock(&w.mu);
	while (w.left)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	assert_int_equal(w.failed, 0);
	store_get_stats(f->st, &after);
	assert_true(after.commits - before.commits < N / 2);
	struct rows *rs = all_rows(f, "sla.p_violation");
	assert_int_equal(rs->n, 2);
	assert_int_equal(rs->r[0].samples, N / 2);
	assert_int_equal(rs->r[1].t_end_ms, T0 + N * STEP);
}

/* ---- migration from schema version 2 ---------------------------------------------------- */

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* A database left by version 2 (one row per interval) is converted on
 * open: the same rows come back through history_scan, with sample counts
 * from the host's interval, and the old table is gone. with_sla: the
 * database also went through migration 4 (the SLA tables) without 3, as a
 * collector with the SLA checks but not this store left it. */
static void convert_old_rows(struct fixture *f, int with_sla)
{
	store_close(f->st);
	f->st = NULL;
	remove_db(f->path);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	for (unsigned i = 0; i < vigil_migration_count; i++) {
		int v = vigil_migrations[i].version;
		if (v <= 2 || (with_sla && v == 4))
			exec_ok(db, vigil_migrations[i].sql);
	}
	exec_ok(db, with_sla ? "PRAGMA user_version = 4" : "PRAGMA user_version = 2");
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO hosts (id, name, last_seq, interval_ms, first_seen, last_seen) VALUES (1, 'hv1', 9, 1000, %lld, %lld);"
		 "INSERT INTO vms (id, uuid, host_id, name, source, state, vcpus, first_seen, last_seen) "
		 "  VALUES (1, '" UUID1 "', 1, 'vm1', 'pid', 'running', 1, %lld, %lld);"
		 "INSERT INTO metrics (name, unit, layer) VALUES ('disk.read_ops', 'count', 'disk');"
		 "INSERT INTO series (id, vm_id, metric_id, tags, last_row) VALUES "
		 "  (1, 1, (SELECT id FROM metrics WHERE name = 'disk.read_ops'), 'dev=vda', 3);"
		 "INSERT INTO intervals (id, series_id, t_start, t_end, value) VALUES "
		 "  (1, 1, %lld, %lld, 5), (2, 1, %lld, %lld, 7), (3, 1, %lld, %lld, 5);",
		 (long long)T0, (long long)(T0 + 9000), (long long)T0, (long long)(T0 + 9000), (long long)T0,
		 (long long)(T0 + 3000), (long long)(T0 + 3000), (long long)(T0 + 4000), (long long)(T0 + 6000),
		 (long long)(T0 + 9000));
	exec_ok(db, sql);
	sqlite3_close(db);

	struct storage_config cfg;
	storage_config_defaults(&cfg);
	open_with(f, &cfg);
	struct rows *rs = all_rows(f, "disk.read_ops");
	assert_int_equal(rs->n, 3);
	assert_true(rs->r[0].value == 5 && rs->r[0].samples == 3 && (rs->r[0].flags & IV_GAP));
	assert_true(rs->r[1].value == 7 && rs->r[1].samples == 1 && !(rs->r[1].flags & IV_GAP));
	assert_true(rs->r[2].value == 5 && rs->r[2].samples == 3 && (rs->r[2].flags & IV_GAP));
	assert_int_equal(rs->r[2].t_end_ms, T0 + 9000);
	assert_string_equal(rs->r[0].kind, "counter");
	/* Totals survive: 3*5 + 7 + 3*5. */
	assert_true(window_total(rs, T0, T0 + 9000) == 37);
	sqlite3_stmt *st;
	assert_int_not_equal(sqlite3_prepare_v2(store_db(f->st), "SELECT 1 FROM legacy_intervals", -1, &st, NULL),
			     SQLITE_OK);
	/* Batches continue the host's sequence. */
	f->seq = 8;
	struct reading r = { "disk.read_ops", "dev", "vda", 5 };
	assert_int_equal(send_at(f, 9000, 10000, &r, 1, 0), STORE_DUPLICATE);
	sqlite3_stmt *v;
	assert_int_equal(sqlite3_prepare_v2(store_db(f->st), "PRAGMA user_version", -1, &v, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(v), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(v, 0), vigil_migrations[vigil_migration_count - 1].version);
	sqlite3_finalize(v);
}

static void test_version_2_rows_are_converted(void **state)
{
	convert_old_rows(*state, 0);
}

static void test_version_4_without_3_is_converted(void **state)
{
	convert_old_rows(*state, 1);
}

/* ---- codecs ---------------------------------------------------------------------------- */

static void test_value_codec_round_trips_exactly(void **state)
{
	(void)state;
	const double values[] = { 0, 0, 1, 1.5, -1.5, 12.34, 12.35, 1e15, 4096, 8192, 33.333333333333336, -0.0,
				  0.1 + 0.2, 1e-300, 5e300, 123456.789, 3, 3, 2.5e-7 };
	struct buf b = { 0 };
	struct value_ctx enc = { 0 }, dec = { 0 };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		value_put(&b, &enc, values[i]);
	struct cursor c = { b.data, b.data + b.len, 0 };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		double v = value_get(&c, &dec);
		assert_memory_equal(&v, &values[i], sizeof(v));
	}
	assert_false(c.bad);
	assert_false(cur_more(&c));
	/* Small counts cost two bytes; a repeat one. */
	buf_reset(&b);
	struct value_ctx ctx = { 4096 };
	value_put(&b, &ctx, 8192);
	value_put(&b, &ctx, 8192);
	assert_true(b.len <= 4);
	buf_free(&b);
}

static void test_interval_codec_round_trips(void **state)
{
	(void)state;
	struct interval in[] = {
		{ T0, T0 + 1000, 5, 1, IV_GAP }, { T0 + 1000, T0 + 4000, 6, 3, 0 }, { T0 + 4000, T0 + 4999, 0.25, 1, IV_RESET },
		{ T0 + 9000, T0 + 10003, 0.25, 1, IV_GAP | IV_RESET }, { T0 + 8000, T0 + 9000, -3e10, 1, IV_GAP },
	};
	size_t n = sizeof(in) / sizeof(in[0]);
	struct buf b = { 0 };
	struct interval_enc e;
	interval_enc_init(&e, T0, 1000);
	for (size_t i = 0; i < n; i++)
		interval_put(&b, &e, &in[i]);
	interval_enc_init(&e, T0, 1000);
	struct cursor c = { b.data, b.data + b.len, 0 };
	for (size_t i = 0; i < n; i++) {
		struct interval out;
		assert_int_equal(interval_get(&c, &e, &out), 0);
		assert_int_equal(out.t_start_ms, in[i].t_start_ms);
		assert_int_equal(out.t_end_ms, in[i].t_end_ms);
		assert_true(out.value == in[i].value);
		assert_int_equal(out.n, in[i].n);
		assert_int_equal(out.flags, in[i].flags);
	}
	/* A truncated stream is reported, not read past its end. */
	c = (struct cursor){ b.data, b.data + b.len - 1, 0 };
	interval_enc_init(&e, T0, 1000);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct interval out;
		rc = interval_get(&c, &e, &out);
	}
	assert_int_equal(rc, -1);
	buf_free(&b);
}

static void test_rollup_codec_round_trips(void **state)
{
	(void)state;
	struct rollup in[] = {
		{ T0, 60000, 1, 1, 1, 1, 0, 0 },
		{ T0 + 60000, 30000, 1, 9, 4.5, 9, 270, IV_GAP },
		{ T0 + 300000, 60000, -2, 2, 0.125, -2, 0, IV_RESET },
	};
	struct buf b = { 0 };
	struct rollup_enc e;
	rollup_enc_init(&e, T0, 60000);
	for (size_t i = 0; i < 3; i++)
		rollup_put(&b, &e, &in[i]);
	rollup_enc_init(&e, T0, 60000);
	struct cursor c = { b.data, b.data + b.len, 0 };
	for (size_t i = 0; i < 3; i++) {
		struct rollup out;
		assert_int_equal(rollup_get(&c, &e, &out), 0);
		assert_memory_equal(&out, &in[i], offsetof(struct rollup, flags));
		assert_int_equal(out.flags, in[i].flags);
	}
	struct buf packed = { 0 }, back = { 0 };
	assert_int_equal(blob_pack(&b, &packed), 0);
	assert_int_equal(blob_unpack(packed.data, packed.len, &back), 0);
	assert_int_equal(back.len, b.len);
	assert_memory_equal(back.data, b.data, b.len);
	packed.data[0] = 9;
	assert_int_equal(blob_unpack(packed.data, packed.len, &back), -1);
	buf_free(&b);
	buf_free(&packed);
	buf_free(&back);
}

/* ---- segments -------------------------------------------------------------- */

#define FIX_T0 1700000040000LL

/* Segments written by the format 1 encoder (before the columns), kept as
 * bytes: databases hold such segments and must still read. Raw: series 7
 * with the intervals below, series 9 with percentages; one-minute: series
 * 11 with three buckets. */
static const uint8_t v1_raw_segment[] = {
	0x00, 0x01, 0x02, 0x16, 0x0e, 0x05, 0x80, 0x91, 0xb0, 0xfe, 0xf9, 0x62,
	0xe8, 0x07, 0x14, 0x04, 0x03, 0x80, 0x91, 0xb0, 0xfe, 0xf9, 0x62, 0xe8,
	0x07, 0x10, 0x09, 0x0a, 0x21, 0x03, 0x02, 0x53, 0x01, 0xfd, 0x08, 0xd8,
	0x06, 0xc2, 0x3e, 0x01, 0xff, 0xaf, 0x9d, 0xc2, 0xdf, 0x01, 0x0b, 0xa4,
	0x13, 0x03, 0x02, 0x27, 0x40, 0x02, 0x07, 0x00, 0x00, 0x00, 0x00, 0x80,
	0xfb, 0x7f,
};
static const uint8_t v1_minute_segment[] = {
	0x00, 0x01, 0x01, 0x0a, 0x16, 0x03, 0x80, 0x91, 0xb0, 0xfe, 0xf9, 0x62,
	0x00, 0x1c, 0x04, 0x01, 0x02, 0x19, 0xb0, 0xea, 0x01, 0x00, 0x01, 0x10,
	0x02, 0x46, 0x01, 0x10, 0x01, 0x9c, 0x04, 0x22, 0x06, 0x01, 0x05, 0x01,
	0x0d, 0x04, 0xad, 0x44, 0x01, 0x15,
};

static const struct interval fix_raw7[] = {
	{ FIX_T0, FIX_T0 + 1000, 5, 1, IV_GAP },
	{ FIX_T0 + 1000, FIX_T0 + 4000, 6, 3, 0 },
	{ FIX_T0 + 4000, FIX_T0 + 4999, 0.25, 1, IV_RESET },
	{ FIX_T0 + 9000, FIX_T0 + 10003, 0.25, 1, IV_GAP | IV_RESET },
	{ FIX_T0 + 10003, FIX_T0 + 11003, -3e10, 1, 0 },
};
static const struct interval fix_raw9[] = {
	{ FIX_T0, FIX_T0 + 1000, 12.34, 1, IV_GAP },
	{ FIX_T0 + 1000, FIX_T0 + 2000, 12.35, 1, 0 },
	{ FIX_T0 + 2000, FIX_T0 + 4000, 0.1 + 0.2, 2, 0 },
};
static const struct rollup fix_minute11[] = {
	{ FIX_T0, 60000, 1, 1, 1, 1, 0, 0 },
	{ FIX_T0 + 60000, 30000, 1, 9, 4.5, 9, 270, IV_GAP },
	{ FIX_T0 + 300000, 60000, -2, 2, 0.125, -2, 0, IV_RESET },
};

static int same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static void assert_same_interval(const struct interval *a, const struct interval *b)
{
	assert_int_equal(a->t_start_ms, b->t_start_ms);
	assert_int_equal(a->t_end_ms, b->t_end_ms);
	assert_true(same_bits(a->value, b->value));
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->flags, b->flags);
}

static void assert_same_rollup(const struct rollup *a, const struct rollup *b)
{
	assert_int_equal(a->start_ms, b->start_ms);
	assert_int_equal(a->covered_ms, b->covered_ms);
	assert_true(same_bits(a->min, b->min) && same_bits(a->max, b->max) && same_bits(a->mean, b->mean));
	assert_true(same_bits(a->last, b->last) && same_bits(a->sum, b->sum));
	assert_int_equal(a->flags, b->flags);
}

static void assert_section_intervals(struct seg_view *v, int64_t id, const struct interval *want, size_t n)
{
	struct seg_section sec;
	struct seg_reader rd;
	struct interval iv;
	assert_int_equal(seg_find(v, id, &sec), 1);
	assert_int_equal(sec.count, n);
	assert_int_equal(seg_reader_open(&rd, &sec, 0), 0);
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(seg_read_interval(&rd, &iv), 1);
		assert_same_interval(&iv, &want[k]);
	}
	assert_int_equal(seg_read_interval(&rd, &iv), 0);
}

static void assert_section_rollups(struct seg_view *v, int64_t id, const struct rollup *want, size_t n)
{
	struct seg_section sec;
	struct seg_reader rd;
	struct rollup ru;
	assert_int_equal(seg_find(v, id, &sec), 1);
	assert_int_equal(sec.count, n);
	assert_int_equal(seg_reader_open(&rd, &sec, 60000), 0);
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(seg_read_rollup(&rd, &ru), 1);
		assert_same_rollup(&ru, &want[k]);
	}
	assert_int_equal(seg_read_rollup(&rd, &ru), 0);
}

static void test_format1_segments_still_read(void **state)
{
	(void)state;
	struct seg_view v = { 0 };
	assert_int_equal(seg_open(&v, v1_raw_segment, sizeof(v1_raw_segment)), 0);
	assert_int_equal(v.version, 1);
	assert_section_intervals(&v, 7, fix_raw7, 5);
	assert_section_intervals(&v, 9, fix_raw9, 3);
	struct seg_section sec;
	assert_int_equal(seg_find(&v, 8, &sec), 0);
	assert_int_equal(seg_open(&v, v1_minute_segment, sizeof(v1_minute_segment)), 0);
	assert_section_rollups(&v, 11, fix_minute11, 3);
	seg_view_free(&v);
}

/* Adds intervals to a builder as the engine does: as a row stream. */
static void add_intervals(struct seg_builder *b, int64_t id, const struct interval *iv, size_t n)
{
	struct buf rows = { 0 };
	struct interval_enc e;
	interval_enc_init(&e, iv[0].t_start_ms, 1000);
	for (size_t k = 0; k < n; k++)
		interval_put(&rows, &e, &iv[k]);
	struct seg_section sec = { .series_id = id, .count = (uint32_t)n, .origin = iv[0].t_start_ms, .base_ms = 1000,
				   .data = rows.data, .len = rows.len };
	assert_int_equal(seg_add(b, &sec, iv[0].t_start_ms, iv[n - 1].t_end_ms), 0);
	buf_free(&rows);
}

/* Contiguous 1 s intervals with the given values. */
static struct interval *intervals_of(const double *v, size_t n)
{
	struct interval *iv = calloc(n, sizeof(*iv));
	assert_non_null(iv);
	for (size_t k = 0; k < n; k++)
		iv[k] = (struct interval){ FIX_T0 + 1000 * (int64_t)k, FIX_T0 + 1000 * (int64_t)(k + 1), v[k], 1,
					   k ? 0 : IV_GAP };
	return iv;
}

/* Every kind of value block comes back to the bit: percentages scattered
 * around a level (packed), a drifting byte level in 4 KiB pages (delta),
 * full-precision and special values (value by value), a constant. */
static void test_format2_segments_round_trip(void **state)
{
	(void)state;
	enum { N = 300 };
	static double pct[N], pages[N], odd[N], flat[N];
	uint64_t x = 12345;
	for (size_t k = 0; k < N; k++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		pct[k] = (double)(1000 + (x >> 40) % 4000) / 100.0;
		pages[k] = 4096.0 * (double)(500000 + (int64_t)k * 3 - (int64_t)((x >> 50) % 7));
		odd[k] = k % 5 == 0 ? -0.0 : k % 5 == 1 ? NAN : k % 5 == 2 ? 1e300 : (double)(x >> 11) * 0x1p-53;
		flat[k] = 42.5;
	}
	const double *cols[] = { pct, pages, odd, flat };
	struct interval *ivs[4];
	struct seg_builder b = { 0 };
	seg_builder_reset(&b, TIER_RAW);
	for (int s = 0; s < 4; s++) {
		ivs[s] = intervals_of(cols[s], N);
		add_intervals(&b, 100 + s, ivs[s], N);
	}
	add_intervals(&b, 200, fix_raw7, 5);
	struct buf blob = { 0 };
	assert_int_equal(seg_finish(&b, &blob, SEG_LEVEL_FINAL), 0);
	struct seg_view v = { 0 };
	assert_int_equal(seg_open(&v, blob.data, blob.len), 0);
	assert_int_equal(v.version, 2);
	for (int s = 0; s < 4; s++)
		assert_section_intervals(&v, 100 + s, ivs[s], N);
	assert_section_intervals(&v, 200, fix_raw7, 5);
	/* Packed percentages take about their entropy: 12 bits, not 8 bytes. */
	struct seg_section sec;
	assert_int_equal(seg_find(&v, 100, &sec), 1);
	assert_true(sec.col_len[SEG_COL_VALUE] < N * 2);
	/* A corrupt blob is refused, not read past its end. */
	blob.data[blob.len / 2] ^= 0x5a;
	struct seg_view w = { 0 };
	if (seg_open(&w, blob.data, blob.len - 3) == 0)
		assert_int_equal(seg_find(&w, 999, &sec) <= 0, 1);
	seg_view_free(&w);
	seg_view_free(&v);
	buf_free(&blob);
	seg_builder_free(&b);
	for (int s = 0; s < 4; s++)
		free(ivs[s]);
}

static void test_format2_rollups_round_trip(void **state)
{
	(void)state;
	struct seg_builder b = { 0 };
	seg_builder_reset(&b, TIER_1M);
	struct buf rows = { 0 }, blob = { 0 };
	struct rollup_enc e;
	rollup_enc_init(&e, fix_minute11[0].start_ms, 60000);
	for (size_t k = 0; k < 3; k++)
		rollup_put(&rows, &e, &fix_minute11[k]);
	struct seg_section sec = { .series_id = 11, .count = 3, .origin = fix_minute11[0].start_ms, .data = rows.data,
				   .len = rows.len };
	assert_int_equal(seg_add(&b, &sec, fix_minute11[0].start_ms, fix_minute11[2].start_ms + 60000), 0);
	assert_int_equal(seg_finish(&b, &blob, SEG_LEVEL_FINAL), 0);
	struct seg_view v = { 0 };
	assert_int_equal(seg_open(&v, blob.data, blob.len), 0);
	assert_int_equal(v.version, 2);
	assert_section_rollups(&v, 11, fix_minute11, 3);
	seg_view_free(&v);
	buf_free(&rows);
	buf_free(&blob);
	seg_builder_free(&b);
}

struct bucket_list {
	struct rollup r[64];
	size_t n;
};

static void collect_bucket(const struct rollup *r, void *arg)
{
	struct bucket_list *l = arg;
	if (l->n < 64)
		l->r[l->n++] = *r;
}

/* Minute buckets from the writer's own accumulator: 1 s samples of
 * value(k), the last minute only partly covered. */
static void minute_buckets(struct bucket_list *l, double (*value)(size_t), int counter)
{
	struct rollup_acc acc = { 0 };
	int64_t t = 1700000040000LL - 1700000040000LL % 60000;
	l->n = 0;
	for (size_t k = 0; k < 20 * 60 + 17; k++, t += 1000) {
		double v = value(k);
		rollup_feed(&acc, 60000, t, t + 1000, v, counter ? v : 0, 0, collect_bucket, l);
	}
	rollup_flush_before(&acc, 60000, INT64_MAX, collect_bucket, l);
}

static uint64_t mean_rng = 88172645463325252ull;
static uint64_t mean_next(void)
{
	mean_rng ^= mean_rng << 13;
	mean_rng ^= mean_rng >> 7;
	mean_rng ^= mean_rng << 17;
	return mean_rng;
}
static double sectors(size_t k) { return (double)(512 * (k % 7 ? mean_next() % 4000 : 0)); }
static double hundredths(size_t k) { return (double)(2000 + (int64_t)(k % 3 ? mean_next() % 900 : 0)) / 100.0; }
static double irregular(size_t k) { return (double)(mean_next() >> 11) * 0x1p-53 * (double)(k + 1); }

/* The section's value column: small when the means are derived. */
static size_t value_bytes(struct seg_view *v, int64_t id)
{
	struct seg_section sec;
	assert_int_equal(seg_find(v, id, &sec), 1);
	return sec.col_len[SEG_COL_VALUE];
}

static void test_rollup_means_round_trip_in_every_form(void **state)
{
	(void)state;
	struct bucket_list counter, pct, odd, nudged;
	minute_buckets(&counter, sectors, 1);
	minute_buckets(&pct, hundredths, 0);
	minute_buckets(&odd, irregular, 0);
	/* The counter's buckets with each mean one ulp off what the sum
	 * gives: no form fits, so they are stored one by one, and exactly. */
	nudged = counter;
	for (size_t k = 0; k < nudged.n; k++)
		if (nudged.r[k].min != nudged.r[k].max)
			nudged.r[k].mean = nextafter(nudged.r[k].mean, nudged.r[k].min);
	assert_int_equal(counter.n, 21);
	assert_true(counter.r[20].covered_ms < 60000);
	struct bucket_list *lists[] = { &counter, &pct, &odd, &nudged };
	struct seg_builder b = { 0 };
	seg_builder_reset(&b, TIER_1M);
	struct buf rows = { 0 }, blob = { 0 };
	for (int i = 0; i < 4; i++) {
		struct rollup_enc e;
		buf_reset(&rows);
		rollup_enc_init(&e, lists[i]->r[0].start_ms, 60000);
		for (size_t k = 0; k < lists[i]->n; k++)
			rollup_put(&rows, &e, &lists[i]->r[k]);
		struct seg_section sec = { .series_id = 30 + i, .count = (uint32_t)lists[i]->n,
					   .origin = lists[i]->r[0].start_ms, .data = rows.data, .len = rows.len };
		assert_int_equal(seg_add(&b, &sec, sec.origin, sec.origin + 60000 * (int64_t)sec.count), 0);
	}
	assert_int_equal(seg_finish(&b, &blob, SEG_LEVEL_FINAL), 0);
	struct seg_view v = { 0 };
	assert_int_equal(seg_open(&v, blob.data, blob.len), 0);
	for (int i = 0; i < 4; i++)
		assert_section_rollups(&v, 30 + i, lists[i]->r, lists[i]->n);
	/* A counter's means cost nothing beyond its sums: stored one by one
	 * they take 7 to 8 bytes each (as integrals, 2 to 3). */
	assert_true(value_bytes(&v, 30) + 21 * 7 < value_bytes(&v, 33));
	/* Percentages' means as integrals: less than the 7 bytes per mean
	 * that storing the means themselves costs. */
	assert_true(value_bytes(&v, 31) < 21 * 7);
	seg_view_free(&v);
	buf_free(&rows);
	buf_free(&blob);
	seg_builder_free(&b);
}

int main(void)
{
	int64_t now = (int64_t)time(NULL) * 1000;
	T0 = now - 86400000LL;
	T0 = T0 - T0 % 3600000 + 14 * 60000;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counters_and_states_coalesce_only_when_equal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gauge_deadband_absolute_and_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadband_error_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_is_explicit_and_never_joined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_series_closes_and_gap_is_flagged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_totals_equal_what_was_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollups_are_time_weighted_in_every_tier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_reply_names_each_series_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_per_tier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_cuts_segments_by_period, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finished_hours_merge_into_one_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lone_segment_of_a_finished_hour_is_rewritten, setup, teardown),
		cmocka_unit_test(test_tier_choice),
		cmocka_unit_test_setup_teardown(test_recovery_from_journal_after_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_2_rows_are_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_4_without_3_is_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_derived_requests_share_commits, setup, teardown),
		cmocka_unit_test(test_value_codec_round_trips_exactly),
		cmocka_unit_test(test_interval_codec_round_trips),
		cmocka_unit_test(test_rollup_codec_round_trips),
		cmocka_unit_test(test_rollup_means_round_trip_in_every_form),
		cmocka_unit_test(test_format1_segments_still_read),
		cmocka_unit_test(test_format2_segments_round_trip),
		cmocka_unit_test(test_format2_rollups_round_trip),
	};
	return cmocka_run_group_tests_name("interval_store", tests, NULL, NULL);
}
