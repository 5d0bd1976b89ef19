/* The collector's request handling: malformed input gets an Error reply
 * (and the next request is served), batches are acknowledged only once
 * stored, repeats are acknowledged as duplicates. */
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
	snprintf(db_path, sizeof(db_path), "/tmp/vigil-test-server-XXXXXX");
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

static Vigil__Envelope *send_batch(struct fixture *f, uint64_t seq, const char *uuid)
{
	struct vm_target t = { .name = "vm", .state = "running", .source = VM_SOURCE_LIBVIRT, .pid = 9 };
	snprintf(t.uuid, sizeof(t.uuid), "%s", uuid);
	int64_t now = clock_realtime_ms();
	Vigil__Batch *b = batch_new("hv", seq, now - 1000, now, 1000);
	batch_add_sample(batch_add_vm(b, &t, 1), "cpu.used_pct", 5.0, NULL, NULL);
	uint8_t *buf;
	size_t len;
	batch_pack(b, &buf, &len);
	Vigil__Envelope *env = call(f, buf, len);
	free(buf);
	batch_free(b);
	return env;
}

static void test_garbage_gets_error_then_service_continues(void **state)
{
	const uint8_t junk[] = "definitely not protobuf";
	Vigil__Envelope *env = call(*state, junk, sizeof(junk));
	assert_int_equal(env->body_case, VIGIL__ENVELOPE__BODY_ERROR);
	assert_int_equal(env->error->code, VIGIL__ERROR__CODE__MALFORMED);
	assert_true(strlen(env->error->message) > 10);
	wire_free(env);

	env = send_batch(*state, 1, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
	assert_int_equal(env->body_case, VIGIL__ENVELOPE__BODY_ACK);
	wire_free(env);
}

static void test_invalid_batch_is_rejected_with_reason(void **state)
{
	Vigil__Envelope *env = send_batch(*state, 1, "zzzz");
	assert_int_equal(env->body_case, VIGIL__ENVELOPE__BODY_ERROR);
	assert_non_null(strstr(env->error->message, "UUID"));
	wire_free(env);
}

static void test_ack_and_duplicate(void **state)
{
	Vigil__Envelope *env = send_batch(*state, 10, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
	assert_int_equal(env->body_case, VIGIL__ENVELOPE__BODY_ACK);
	assert_int_equal(env->ack->seq, 10);
	assert_false(env->ack->duplicate);
	wire_free(env);
	env = send_batch(*state, 10, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
	assert_int_equal(env->body_case, VIGIL__ENVELOPE__BODY_ACK);
	assert_true(env->ack->duplicate);
	wire_free(env);
}

static void test_status_query(void **state)
{
	wire_free(send_batch(*state, 1, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"));
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	Vigil__StatusQuery q = VIGIL__STATUS_QUERY__INIT;
	req.body_case = VIGIL__ENVELOPE__BODY_STATUS_QUERY;
	req.status_query = &q;
	uint8_t *buf;
	size_t len;
	wire_pack(&req, &buf, &len);
	Vigil__Envelope *env = call(*state, buf, len);
	free(buf);
	assert_int_equal(env->body_case, VIGIL__ENVELOPE__BODY_STATUS_REPLY);
	assert_int_equal(env->status_reply->n_vms, 1);
	assert_true(env->status_reply->vms[0]->cpu_used_pct == 5.0);
	wire_free(env);
}

static void test_reply_is_not_a_request(void **state)
{
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	Vigil__Ack ack = VIGIL__ACK__INIT;
	req.body_case = VIGIL__ENVELOPE__BODY_ACK;
	req.ack = &ack;
	uint8_t *buf;
	size_t len;
	wire_pack(&req, &buf, &len);
	Vigil__Envelope *env = call(*state, buf, len);
	free(buf);
	assert_int_equal(env->body_case, VIGIL__ENVELOPE__BODY_ERROR);
	wire_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_garbage_gets_error_then_service_continues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_batch_is_rejected_with_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_and_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_is_not_a_request, setup, teardown),
	};
	return cmocka_run_group_tests_name("server", tests, NULL, NULL);
}
