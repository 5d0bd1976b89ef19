/* The collector's StatsQuery: every request, stored batch, sample, repeat
 * and error is counted, and the decode and commit stages are timed. */
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
#include "clock.h"
#include "server.h"
#include "wire.h"

static char db_path[64];

/* A server context over a fresh database, and a worker's read connection. */
struct fixture {
	struct server_ctx ctx;
	struct store_reader *reader;
};

static int setup(void **state)
{
	char err[256];
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(db_path, sizeof(db_path), "/tmp/vigil-test-stats-XXXXXX");
	close(mkstemp(db_path));
	unlink(db_path);
	if (store_open(&f->ctx.st, db_path, 0, err, sizeof(err)) < 0 ||
	    store_reader_open(&f->reader, db_path, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	f->ctx.db_path = db_path;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	char side[80];
	struct fixture *f = *state;
	store_reader_close(f->reader);
	store_close(f->ctx.st);
	free(f);
	unlink(db_path);
	snprintf(side, sizeof(side), "%s-wal", db_path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db_path);
	unlink(side);
	return 0;
}

static Vigil__Envelope *call(struct fixture *f, const uint8_t *req, size_t len)
{
	uint8_t *reply;
	size_t reply_len;
	char err[256];
	Vigil__Error__Code code;
	assert_int_equal(server_handle(&f->ctx, f->reader, req, len, &reply, &reply_len), 0);
	Vigil__Envelope *env = wire_unpack(reply, reply_len, clock_realtime_ms(), &code, err, sizeof(err));
	free(reply);
	assert_non_null(env);
	return env;
}

/* A batch of one VM with n_samples cpu.used_pct samples (vcpu=0..n-1). */
static void send_batch(struct fixture *f, uint64_t seq, int n_samples)
{
	struct vm_target t = { .name = "vm", .state = "running", .source = VM_SOURCE_LIBVIRT, .pid = 9 };
	snprintf(t.uuid, sizeof(t.uuid), "%s", "5f0c7c52-1111-4c3e-9d1a-2b5a1c0e7f01");
	int64_t now = clock_realtime_ms();
	Vigil__Batch *b = batch_new("hv", seq, now - 1000, now, 1000);
	Vigil__VmSamples *vm = batch_add_vm(b, &t, 1);
	for (int i = 0; i < n_samples; i++) {
		char vcpu[8];
		snprintf(vcpu, sizeof(vcpu), "%d", i);
		batch_add_sample(vm, "cpu.used_pct", 5.0 + i, "vcpu", vcpu);
	}
	uint8_t *buf;
	size_t len;
	batch_pack(b, &buf, &len);
	Vigil__Envelope *env = call(f, buf, len);
	assert_int_equal(env->body_case, VIGIL__ENVELOPE__BODY_ACK);
	wire_free(env);
	free(buf);
	batch_free(b);
}

static Vigil__Envelope *ask_stats(struct fixture *f)
{
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	Vigil__StatsQuery q = VIGIL__STATS_QUERY__INIT;
	req.body_case = VIGIL__ENVELOPE__BODY_STATS_QUERY;
	req.stats_query = &q;
	uint8_t *buf;
	size_t len;
	assert_int_equal(wire_pack(&req, &buf, &len), 0);
	Vigil__Envelope *env = call(f, buf, len);
	free(buf);
	assert_int_equal(env->body_case, VIGIL__ENVELOPE__BODY_STATS_REPLY);
	return env;
}

static const Vigil__StageTime *stage(const Vigil__StatsReply *r, const char *name)
{
	for (size_t i = 0; i < r->n_stages; i++)
		if (strcmp(r->stages[i]->stage, name) == 0)
			return r->stages[i];
	fail_msg("stage %s missing from the stats reply", name);
	return NULL;
}

static void test_counts_and_stage_times(void **state)
{
	/* The counters are the server context's own: a fresh one has seen
	 * only this first stats query. */
	Vigil__Envelope *before = ask_stats(*state);
	assert_int_equal(before->stats_reply->requests, 1);
	assert_int_equal(before->stats_reply->errors, 0);
	send_batch(*state, 1, 7);
	send_batch(*state, 2, 3);
	send_batch(*state, 2, 3); /* a repeat */
	const uint8_t junk[] = "not a protobuf";
	wire_free(call(*state, junk, sizeof(junk)));
	Vigil__Envelope *after = ask_stats(*state);

	const Vigil__StatsReply *a = before->stats_reply, *b = after->stats_reply;
	/* Three batches, the junk and the second stats query itself. */
	assert_int_equal(b->requests - a->requests, 5);
	assert_int_equal(b->batches - a->batches, 2);
	assert_int_equal(b->samples - a->samples, 10);
	assert_int_equal(b->duplicates - a->duplicates, 1);
	assert_int_equal(b->errors - a->errors, 1);
	/* Every request is decoded; the three batches reach the store. */
	assert_int_equal(stage(b, "decode")->count - stage(a, "decode")->count, 5);
	assert_int_equal(stage(b, "commit")->count - stage(a, "commit")->count, 3);
	/* Each batch goes through the SLA checks before the store. */
	assert_int_equal(stage(b, "sla")->count - stage(a, "sla")->count, 3);
	/* Two stored batches in WAL mode with synchronous=FULL take time. */
	assert_true(stage(b, "commit")->total_ns > stage(a, "commit")->total_ns);
	assert_true(stage(b, "commit")->max_ns > 0);
	assert_true(stage(b, "commit")->max_ns <= stage(b, "commit")->total_ns);
	wire_free(before);
	wire_free(after);
}

/* Two servers in one process count apart: nothing is process-wide. */
static void test_contexts_count_apart(void **state)
{
	struct fixture *f = *state;
	struct fixture other = { .ctx = { .st = f->ctx.st, .db_path = f->ctx.db_path }, .reader = f->reader };
	const uint8_t junk[] = "not a protobuf";
	wire_free(call(f, junk, sizeof(junk)));
	send_batch(f, 1, 2);
	Vigil__Envelope *mine = ask_stats(f), *theirs = ask_stats(&other);
	assert_int_equal(mine->stats_reply->requests, 3);
	assert_int_equal(mine->stats_reply->errors, 1);
	assert_int_equal(mine->stats_reply->batches, 1);
	assert_int_equal(theirs->stats_reply->requests, 1);
	assert_int_equal(theirs->stats_reply->errors, 0);
	assert_int_equal(theirs->stats_reply->batches, 0);
	wire_free(mine);
	wire_free(theirs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts_and_stage_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contexts_count_apart, setup, teardown),
	};
	return cmocka_run_group_tests_name("server_stats", tests, NULL, NULL);
}
