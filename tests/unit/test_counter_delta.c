/* Counter deltas: normal growth, wraps of narrow counters, resets, and the
 * first reading (userspace/counter_delta.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "batch.h"
#include "counter_delta.h"

#define TWO_32 4294967296ull

static void test_first_reading_has_no_growth(void **state)
{
	uint64_t d = 99;

	(void)state;
	assert_int_equal(counter_delta(NULL, 123456, COUNTER_WIDTH_64, &d), COUNTER_FIRST);
	assert_int_equal(d, 0);
}

static void test_equal_values_are_normal_with_no_growth(void **state)
{
	uint64_t prev = 5000, d = 99;

	(void)state;
	assert_int_equal(counter_delta(&prev, 5000, COUNTER_WIDTH_64, &d), COUNTER_NORMAL);
	assert_int_equal(d, 0);
	assert_int_equal(counter_delta(&prev, 5000, COUNTER_WIDTH_GUEST_EVENTS, &d), COUNTER_NORMAL);
	assert_int_equal(d, 0);
}

static void test_growth_is_normal(void **state)
{
	uint64_t prev = 1000, d;

	(void)state;
	assert_int_equal(counter_delta(&prev, 1750, COUNTER_WIDTH_64, &d), COUNTER_NORMAL);
	assert_int_equal(d, 750);
	/* Up to the largest 64-bit value, without overflow. */
	prev = 0;
	assert_int_equal(counter_delta(&prev, UINT64_MAX, COUNTER_WIDTH_64, &d), COUNTER_NORMAL);
	assert_true(d == UINT64_MAX);
}

static void test_32_bit_wrap(void **state)
{
	uint64_t prev = TWO_32 - 100, d;

	(void)state;
	/* 100 to reach 2^32, then 50 more: 150. */
	assert_int_equal(counter_delta(&prev, 50, COUNTER_WIDTH_GUEST_EVENTS, &d), COUNTER_WRAP);
	assert_int_equal(d, 150);
	/* Exactly at the maximum, then to zero: one step. */
	prev = TWO_32 - 1;
	assert_int_equal(counter_delta(&prev, 0, COUNTER_WIDTH_GUEST_EVENTS, &d), COUNTER_WRAP);
	assert_int_equal(d, 1);
}

static void test_44_bit_wrap(void **state)
{
	uint64_t range = 1ull << 44, prev = range - 4096, d;

	(void)state;
	assert_int_equal(counter_delta(&prev, 8192, COUNTER_WIDTH_GUEST_PAGE_BYTES, &d), COUNTER_WRAP);
	assert_int_equal(d, 3 * 4096);
}

static void test_reset_to_small_value(void **state)
{
	uint64_t prev = 1000000, d;

	(void)state;
	/* A 64-bit counter never wraps: it restarted, and counted 5 since. */
	assert_int_equal(counter_delta(&prev, 5, COUNTER_WIDTH_64, &d), COUNTER_RESET);
	assert_int_equal(d, 5);
	/* Same for a narrow counter low in its range: a wrap would mean more
	 * than half the range in one step. */
	assert_int_equal(counter_delta(&prev, 5, COUNTER_WIDTH_GUEST_EVENTS, &d), COUNTER_RESET);
	assert_int_equal(d, 5);
	/* Reset to zero. */
	assert_int_equal(counter_delta(&prev, 0, COUNTER_WIDTH_64, &d), COUNTER_RESET);
	assert_int_equal(d, 0);
}

static void test_implausible_wrap_is_a_reset(void **state)
{
	/* From just below half the range to a little above zero: across the
	 * wrap that is more than half the range. */
	uint64_t prev = TWO_32 / 2 - 1, d;

	(void)state;
	assert_int_equal(counter_delta(&prev, 10, COUNTER_WIDTH_GUEST_EVENTS, &d), COUNTER_RESET);
	assert_int_equal(d, 10);
	/* A little above half the range: the wrap is plausible. */
	prev = TWO_32 / 2 + 1000;
	assert_int_equal(counter_delta(&prev, 10, COUNTER_WIDTH_GUEST_EVENTS, &d), COUNTER_WRAP);
	assert_int_equal(d, TWO_32 / 2 - 1000 + 10);
}

static void test_narrow_counter_seen_wider_does_not_wrap(void **state)
{
	/* A 64-bit guest's counter, read as possibly 32-bit: above 2^32 it
	 * cannot be a 32-bit wrap, whatever the values. */
	uint64_t prev = TWO_32 + 7, d;

	(void)state;
	assert_int_equal(counter_delta(&prev, 3, COUNTER_WIDTH_GUEST_EVENTS, &d), COUNTER_RESET);
	assert_int_equal(d, 3);
	/* Odd widths count as 64. */
	prev = UINT64_MAX - 5;
	assert_int_equal(counter_delta(&prev, 2, 0, &d), COUNTER_RESET);
	assert_int_equal(counter_delta(&prev, 2, 65, &d), COUNTER_RESET);
}

static void test_step_names(void **state)
{
	(void)state;
	assert_string_equal(counter_step_name(COUNTER_FIRST), "first");
	assert_string_equal(counter_step_name(COUNTER_NORMAL), "normal");
	assert_string_equal(counter_step_name(COUNTER_WRAP), "wrap");
	assert_string_equal(counter_step_name(COUNTER_RESET), "reset");
}

static void test_advance_marks_the_batch_on_reset_only(void **state)
{
	struct vm_target t = { .name = "vm1", .uuid = "00000000-0000-0000-0000-000000000001", .state = "running" };
	Vigil__Batch *b = batch_new("hv", 1, 0, 1000, 1000);
	Vigil__VmSamples *vm = b ? batch_add_vm(b, &t, 1) : NULL;
	uint64_t last = 0;

	(void)state;
	assert_non_null(vm);
	/* Counted from zero: the first reading is all growth. */
	assert_int_equal(counter_advance(&last, 400, COUNTER_WIDTH_64, vm, "net.rx_bytes", "if=vnet0"), 400);
	assert_int_equal(last, 400);
	assert_false(vm->counters_reset);
	assert_int_equal(counter_advance(&last, 400, COUNTER_WIDTH_64, vm, "net.rx_bytes", NULL), 0);
	assert_false(vm->counters_reset);
	/* Backwards: what was counted since, and the batch is marked. */
	assert_int_equal(counter_advance(&last, 30, COUNTER_WIDTH_64, vm, "net.rx_bytes", "if=vnet0"), 30);
	assert_int_equal(last, 30);
	assert_true(vm->counters_reset);
	/* And it goes on from the new value. */
	assert_int_equal(counter_advance(&last, 45, COUNTER_WIDTH_64, vm, "net.rx_bytes", NULL), 15);
	batch_free(b);
}

static void test_advance_marks_the_batch_on_wrap(void **state)
{
	struct vm_target t = { .name = "vm1", .uuid = "00000000-0000-0000-0000-000000000001", .state = "running" };
	Vigil__Batch *b = batch_new("hv", 1, 0, 1000, 1000);
	Vigil__VmSamples *vm = b ? batch_add_vm(b, &t, 1) : NULL;
	uint64_t last = TWO_32 - 2;

	(void)state;
	assert_non_null(vm);
	assert_int_equal(counter_advance(&last, 3, COUNTER_WIDTH_GUEST_EVENTS, vm, "mem.guest_major_faults", NULL), 5);
	assert_true(vm->counters_reset);
	batch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_reading_has_no_growth),
		cmocka_unit_test(test_equal_values_are_normal_with_no_growth),
		cmocka_unit_test(test_growth_is_normal),
		cmocka_unit_test(test_32_bit_wrap),
		cmocka_unit_test(test_44_bit_wrap),
		cmocka_unit_test(test_reset_to_small_value),
		cmocka_unit_test(test_implausible_wrap_is_a_reset),
		cmocka_unit_test(test_narrow_counter_seen_wider_does_not_wrap),
		cmocka_unit_test(test_step_names),
		cmocka_unit_test(test_advance_marks_the_batch_on_reset_only),
		cmocka_unit_test(test_advance_marks_the_batch_on_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
