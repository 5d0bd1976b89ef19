/* The wire codec: round trips, and every kind of malformed input the
 * collector must reject with a clear message. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"
#include "wire.h"

#define NOW_MS 1790000000000LL

static Vigil__Batch *sample_batch(void)
{
	struct vm_target t = { .name = "web-1", .uuid = "6c3a9b52-1f4e-4d1a-9a0e-2b7c8d9e0f11",
			       .state = "running", .source = VM_SOURCE_PID, .pid = 42 };
	Vigil__Batch *b = batch_new("hv01.example", 7, NOW_MS - 1000, NOW_MS, 1000);
	Vigil__VmSamples *vm = batch_add_vm(b, &t, 2);
	assert_non_null(vm);
	assert_int_equal(batch_add_sample(vm, "cpu.used_pct", 12.5, NULL, NULL), 0);
	assert_int_equal(batch_add_sample(vm, "cpu.used_pct", 7.25, "vcpu", "1"), 0);
	return b;
}

/* Packs b, unpacks it again and returns the envelope (NULL on rejection,
 * with the reason in err). */
static Vigil__Envelope *roundtrip(Vigil__Batch *b, Vigil__Error__Code *code, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	assert_int_equal(batch_pack(b, &buf, &len), 0);
	Vigil__Envelope *env = wire_unpack(buf, len, NOW_MS, code, err, errlen);
	free(buf);
	return env;
}

static void test_roundtrip_keeps_every_field(void **state)
{
	(void)state;
	char err[256];
	Vigil__Error__Code code;
	Vigil__Batch *b = sample_batch();
	Vigil__Envelope *env = roundtrip(b, &code, err, sizeof(err));
	assert_non_null(env);
	assert_int_equal(env->version, VIGIL_WIRE_VERSION);
	assert_int_equal(env->body_case, VIGIL__ENVELOPE__BODY_BATCH);
	const Vigil__Batch *got = env->batch;
	assert_string_equal(got->host, "hv01.example");
	assert_int_equal(got->seq, 7);
	assert_int_equal(got->t_end_ms - got->t_start_ms, 1000);
	assert_int_equal(got->n_vms, 1);
	assert_string_equal(got->vms[0]->name, "web-1");
	assert_string_equal(got->vms[0]->source, "pid");
	assert_int_equal(got->vms[0]->vcpus, 2);
	assert_int_equal(got->vms[0]->n_samples, 2);
	assert_true(got->vms[0]->samples[0]->value == 12.5);
	assert_string_equal(got->vms[0]->samples[1]->tags[0]->key, "vcpu");
	assert_string_equal(got->vms[0]->samples[1]->tags[0]->value, "1");
	wire_free(env);
	batch_free(b);
}

/* counters_reset travels, is accepted by validation (also on a VM without
 * samples), and the --stdout table shows it on the VM's lines only. */
static void test_counters_reset_is_carried_and_accepted(void **state)
{
	(void)state;
	char err[256];
	Vigil__Error__Code code;
	Vigil__Batch *b = sample_batch();
	struct vm_target quiet = { .name = "idle-2", .uuid = "6c3a9b52-1f4e-4d1a-9a0e-2b7c8d9e0f12",
				   .state = "no-process", .source = VM_SOURCE_LIBVIRT };
	Vigil__VmSamples *empty = batch_add_vm(b, &quiet, 0);
	assert_non_null(empty);
	b->vms[0]->counters_reset = 1;
	empty->counters_reset = 1;
	Vigil__Envelope *env = roundtrip(b, &code, err, sizeof(err));
	assert_non_null(env);
	assert_true(env->batch->vms[0]->counters_reset);
	assert_true(env->batch->vms[1]->counters_reset);
	wire_free(env);

	b->vms[1]->counters_reset = 0;
	env = roundtrip(b, &code, err, sizeof(err));
	assert_non_null(env);
	assert_true(env->batch->vms[0]->counters_reset);
	assert_false(env->batch->vms[1]->counters_reset);
	wire_free(env);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	batch_print(f, b);
	fclose(f);
	/* Header, two samples of web-1, one line for idle-2. */
	char *line = strtok(text, "\n");
	assert_non_null(strstr(line, "RESET"));
	for (int i = 0; i < 2; i++) {
		line = strtok(NULL, "\n");
		assert_non_null(line);
		assert_int_equal(strncmp(line, "web-1 ", 6), 0);
		assert_string_equal(line + strlen(line) - 4, " yes");
	}
	line = strtok(NULL, "\n");
	assert_int_equal(strncmp(line, "idle-2 ", 7), 0);
	assert_string_equal(line + strlen(line) - 2, " -");
	free(text);
	batch_free(b);
}

static void test_garbage_is_rejected(void **state)
{
	(void)state;
	char err[256] = "";
	Vigil__Error__Code code;
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99 };
	assert_null(wire_unpack(junk, sizeof(junk), NOW_MS, &code, err, sizeof(err)));
	assert_int_equal(code, VIGIL__ERROR__CODE__MALFORMED);
	assert_non_null(strstr(err, "not a valid vigil.Envelope"));
}

static void test_truncated_message_is_rejected(void **state)
{
	(void)state;
	char err[256];
	Vigil__Error__Code code;
	uint8_t *buf;
	size_t len;
	Vigil__Batch *b = sample_batch();
	assert_int_equal(batch_pack(b, &buf, &len), 0);
	assert_null(wire_unpack(buf, len / 2, NOW_MS, &code, err, sizeof(err)));
	assert_int_equal(code, VIGIL__ERROR__CODE__MALFORMED);
	free(buf);
	batch_free(b);
}

static void test_wrong_version_is_rejected(void **state)
{
	(void)state;
	char err[256];
	Vigil__Error__Code code;
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	Vigil__StatusQuery q = VIGIL__STATUS_QUERY__INIT;
	env.body_case = VIGIL__ENVELOPE__BODY_STATUS_QUERY;
	env.status_query = &q;
	env.version = 99;
	/* Packed by hand: wire_pack would stamp the current version. */
	size_t len = vigil__envelope__get_packed_size(&env);
	uint8_t *buf = malloc(len);
	vigil__envelope__pack(&env, buf);
	assert_null(wire_unpack(buf, len, NOW_MS, &code, err, sizeof(err)));
	assert_int_equal(code, VIGIL__ERROR__CODE__VERSION);
	assert_non_null(strstr(err, "version 99"));
	free(buf);
}

static void test_empty_envelope_is_rejected(void **state)
{
	(void)state;
	char err[256];
	Vigil__Error__Code code;
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	uint8_t *buf;
	size_t len;
	assert_int_equal(wire_pack(&env, &buf, &len), 0);
	assert_null(wire_unpack(buf, len, NOW_MS, &code, err, sizeof(err)));
	assert_non_null(strstr(err, "no body"));
	free(buf);
}

/* Applies one corruption to a valid batch and expects a rejection whose
 * message contains `expect`. */
static void expect_invalid(void (*corrupt)(Vigil__Batch *), const char *expect)
{
	char err[256] = "";
	Vigil__Error__Code code;
	Vigil__Batch *b = sample_batch();
	corrupt(b);
	Vigil__Envelope *env = roundtrip(b, &code, err, sizeof(err));
	if (env)
		fail_msg("corrupted batch was accepted (expected '%s')", expect);
	assert_int_equal(code, VIGIL__ERROR__CODE__MALFORMED);
	if (!strstr(err, expect))
		fail_msg("error '%s' does not mention '%s'", err, expect);
	batch_free(b);
}

static void replace(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
}

static void bad_host(Vigil__Batch *b) { replace(&b->host, "hv 01;drop"); }
static void empty_host(Vigil__Batch *b) { replace(&b->host, ""); }
static void zero_seq(Vigil__Batch *b) { b->seq = 0; }
static void reversed_times(Vigil__Batch *b) { b->t_end_ms = b->t_start_ms - 5; }
static void ancient_times(Vigil__Batch *b) { b->t_start_ms = 1000; b->t_end_ms = 2000; }
static void future_times(Vigil__Batch *b) { b->t_start_ms = NOW_MS + 5 * 86400000LL; b->t_end_ms = b->t_start_ms + 1000; }
static void tiny_interval(Vigil__Batch *b) { b->interval_ms = 1; }
static void bad_uuid(Vigil__Batch *b) { replace(&b->vms[0]->uuid, "not-a-uuid"); }
static void control_in_name(Vigil__Batch *b) { replace(&b->vms[0]->name, "web\n1"); }
static void bad_source(Vigil__Batch *b) { replace(&b->vms[0]->source, "agent"); }
static void bad_metric(Vigil__Batch *b) { replace(&b->vms[0]->samples[0]->metric, "CPU Used!"); }
static void nan_value(Vigil__Batch *b) { b->vms[0]->samples[0]->value = NAN; }
static void inf_value(Vigil__Batch *b) { b->vms[0]->samples[0]->value = INFINITY; }
static void bad_tag_value(Vigil__Batch *b) { replace(&b->vms[0]->samples[1]->tags[0]->value, "1,evil=2"); }

static void duplicate_tag(Vigil__Batch *b)
{
	Vigil__VmSamples *vm = b->vms[0];
	batch_add_sample(vm, "cpu.wait_pct", 1.0, "vcpu", "0");
	Vigil__Sample *s = vm->samples[vm->n_samples - 1];
	s->tags = realloc(s->tags, 2 * sizeof(*s->tags));
	s->tags[1] = malloc(sizeof(Vigil__Tag));
	vigil__tag__init(s->tags[1]);
	s->tags[1]->key = strdup("vcpu");
	s->tags[1]->value = strdup("1");
	s->n_tags = 2;
}

static void test_each_invalid_field_is_named(void **state)
{
	(void)state;
	expect_invalid(bad_host, "host name");
	expect_invalid(empty_host, "host name");
	expect_invalid(zero_seq, "sequence number 0");
	expect_invalid(reversed_times, "not a valid range");
	expect_invalid(ancient_times, "not a valid range");
	expect_invalid(future_times, "in the future");
	expect_invalid(tiny_interval, "interval 1 ms");
	expect_invalid(bad_uuid, "canonical UUID");
	expect_invalid(control_in_name, "control characters");
	expect_invalid(bad_source, "source 'agent'");
	expect_invalid(bad_metric, "metric name");
	expect_invalid(nan_value, "non-finite");
	expect_invalid(inf_value, "non-finite");
	expect_invalid(bad_tag_value, "invalid tag");
	expect_invalid(duplicate_tag, "repeats a tag key");
}

static void test_canonical_tags_are_sorted(void **state)
{
	(void)state;
	Vigil__Tag a = VIGIL__TAG__INIT, b = VIGIL__TAG__INIT;
	a.key = "vcpu";
	a.value = "3";
	b.key = "dev";
	b.value = "vda";
	Vigil__Tag *tags[] = { &a, &b };
	char out[WIRE_TAGS_MAX_LEN];
	assert_int_equal(wire_canonical_tags(tags, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "dev=vda,vcpu=3");
	assert_int_equal(wire_canonical_tags(tags, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

/* Tags from key/value pairs, for the encoder tests. */
struct tagset {
	Vigil__Tag t[WIRE_MAX_TAGS + 2];
	Vigil__Tag *p[WIRE_MAX_TAGS + 2];
	size_t n;
};

static void tagset_add(struct tagset *ts, const char *key, const char *value)
{
	assert_true(ts->n < WIRE_MAX_TAGS + 2);
	vigil__tag__init(&ts->t[ts->n]);
	ts->t[ts->n].key = (char *)key;
	ts->t[ts->n].value = (char *)value;
	ts->p[ts->n] = &ts->t[ts->n];
	ts->n++;
}

/* The canonical form is the series key kept in the database: these
 * strings are what existing files hold, whatever order the tags came in. */
static void test_canonical_tags_keep_the_stored_format(void **state)
{
	(void)state;
	static const char *const key[4] = { "b_c", "ab", "b.c", "a" }, *const value[4] = { "4", "2", "3", "1" };
	char out[WIRE_TAGS_MAX_LEN];
	/* Every order of four tags gives one key; '.' sorts before '_', a
	 * prefix before the longer key (strcmp order). */
	static const int perm[24][4] = {
		{ 0, 1, 2, 3 }, { 0, 1, 3, 2 }, { 0, 2, 1, 3 }, { 0, 2, 3, 1 }, { 0, 3, 1, 2 }, { 0, 3, 2, 1 },
		{ 1, 0, 2, 3 }, { 1, 0, 3, 2 }, { 1, 2, 0, 3 }, { 1, 2, 3, 0 }, { 1, 3, 0, 2 }, { 1, 3, 2, 0 },
		{ 2, 0, 1, 3 }, { 2, 0, 3, 1 }, { 2, 1, 0, 3 }, { 2, 1, 3, 0 }, { 2, 3, 0, 1 }, { 2, 3, 1, 0 },
		{ 3, 0, 1, 2 }, { 3, 0, 2, 1 }, { 3, 1, 0, 2 }, { 3, 1, 2, 0 }, { 3, 2, 0, 1 }, { 3, 2, 1, 0 },
	};
	for (int k = 0; k < 24; k++) {
		struct tagset ts = { 0 };
		for (int i = 0; i < 4; i++)
			tagset_add(&ts, key[perm[k][i]], value[perm[k][i]]);
		assert_int_equal(wire_canonical_tags(ts.p, ts.n, out, sizeof(out)), 0);
		assert_string_equal(out, "a=1,ab=2,b.c=3,b_c=4");
	}
	/* The probe's own tag sets. */
	struct tagset one = { 0 }, two = { 0 };
	tagset_add(&one, "vcpu", "0");
	assert_int_equal(wire_canonical_tags(one.p, one.n, out, sizeof(out)), 0);
	assert_string_equal(out, "vcpu=0");
	tagset_add(&two, "queue", "1");
	tagset_add(&two, "dev", "vda");
	assert_int_equal(wire_canonical_tags(two.p, two.n, out, sizeof(out)), 0);
	assert_string_equal(out, "dev=vda,queue=1");
}

static void test_canonical_tags_reject_a_repeated_key(void **state)
{
	(void)state;
	char out[WIRE_TAGS_MAX_LEN];
	struct tagset same = { 0 }, apart = { 0 };
	tagset_add(&same, "dev", "vda");
	tagset_add(&same, "dev", "vda");
	assert_int_equal(wire_canonical_tags(same.p, same.n, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	/* Not next to each other as given: found once sorted. */
	tagset_add(&apart, "dev", "vda");
	tagset_add(&apart, "queue", "0");
	tagset_add(&apart, "dev", "vdb");
	assert_int_equal(wire_canonical_tags(apart.p, apart.n, out, sizeof(out)), -1);
	assert_string_equal(out, "");
}

/* The result and its NUL must fit in outlen; WIRE_TAGS_MAX_LEN holds the
 * largest tag set the validator lets through. */
static void test_canonical_tags_overflow_is_refused(void **state)
{
	(void)state;
	char out[WIRE_TAGS_MAX_LEN];
	struct tagset one = { 0 }, two = { 0 }, many = { 0 }, largest = { 0 };
	tagset_add(&one, "dev", "vda"); /* "dev=vda": 7 bytes and the NUL */
	assert_int_equal(wire_canonical_tags(one.p, one.n, out, 8), 0);
	assert_string_equal(out, "dev=vda");
	assert_int_equal(wire_canonical_tags(one.p, one.n, out, 7), -1);
	assert_string_equal(out, "");
	tagset_add(&two, "vcpu", "1"); /* "dev=vda,vcpu=1": 14 bytes and the NUL */
	tagset_add(&two, "dev", "vda");
	assert_int_equal(wire_canonical_tags(two.p, two.n, out, 15), 0);
	assert_string_equal(out, "dev=vda,vcpu=1");
	assert_int_equal(wire_canonical_tags(two.p, two.n, out, 14), -1);
	assert_string_equal(out, "");
	assert_int_equal(wire_canonical_tags(two.p, two.n, out, 0), -1);
	for (int i = 0; i <= WIRE_MAX_TAGS; i++) {
		static const char *const keys[] = { "a", "b", "c", "d", "e", "f" };
		tagset_add(&many, keys[i], "1");
	}
	assert_int_equal(wire_canonical_tags(many.p, many.n, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	char keys[WIRE_MAX_TAGS][WIRE_MAX_TAG_KEY], value[WIRE_MAX_TAG_VALUE];
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int i = 0; i < WIRE_MAX_TAGS; i++) {
		memset(keys[i], 'a' + i, sizeof(keys[i]) - 1);
		keys[i][sizeof(keys[i]) - 1] = '\0';
		tagset_add(&largest, keys[i], value);
	}
	assert_int_equal(wire_canonical_tags(largest.p, largest.n, out, sizeof(out)), 0);
	/* Each "k=v" is 31 + 1 + 127 bytes, with three commas between. */
	assert_int_equal(strlen(out), WIRE_MAX_TAGS * (WIRE_MAX_TAG_KEY - 1 + 1 + WIRE_MAX_TAG_VALUE - 1) +
					      WIRE_MAX_TAGS - 1);
}

static void test_canonical_tags_of_nothing_and_empty_values(void **state)
{
	(void)state;
	char out[WIRE_TAGS_MAX_LEN] = "left over";
	assert_int_equal(wire_canonical_tags(NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(wire_canonical_tags(NULL, 0, out, 1), 0);
	assert_string_equal(out, "");
	struct tagset ts = { 0 };
	tagset_add(&ts, "dev", "");
	tagset_add(&ts, "a", "x");
	assert_int_equal(wire_canonical_tags(ts.p, ts.n, out, sizeof(out)), 0);
	assert_string_equal(out, "a=x,dev=");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_keeps_every_field),
		cmocka_unit_test(test_counters_reset_is_carried_and_accepted),
		cmocka_unit_test(test_garbage_is_rejected),
		cmocka_unit_test(test_truncated_message_is_rejected),
		cmocka_unit_test(test_wrong_version_is_rejected),
		cmocka_unit_test(test_empty_envelope_is_rejected),
		cmocka_unit_test(test_each_invalid_field_is_named),
		cmocka_unit_test(test_canonical_tags_are_sorted),
		cmocka_unit_test(test_canonical_tags_keep_the_stored_format),
		cmocka_unit_test(test_canonical_tags_reject_a_repeated_key),
		cmocka_unit_test(test_canonical_tags_overflow_is_refused),
		cmocka_unit_test(test_canonical_tags_of_nothing_and_empty_values),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
