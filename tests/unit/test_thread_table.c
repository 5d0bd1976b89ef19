/* The loader's side of the kernel's thread table (userspace/thread_table.c),
 * on plain memory: probing, claims racing with the kernel's, freeing, and
 * the walk over positions in use. */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "thread_table.h"

static int table_setup(void **state)
{
	struct thread_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->entries = calloc(VIGIL_THREAD_ENTRIES, sizeof(*t->entries));
	t->used = calloc(VIGIL_THREAD_USED_WORDS, sizeof(*t->used));
	*state = t;
	return t->entries && t->used ? 0 : -1;
}

static int table_teardown(void **state)
{
	struct thread_table *t = *state;

	free(t->entries);
	free(t->used);
	free(t);
	return 0;
}

static struct vigil_thread thread_of(uint32_t tid, uint32_t slot)
{
	return (struct vigil_thread){ .tid = tid, .vm_slot = slot, .vcpu = 0, .exec_ns = 1000 + tid };
}

/* Tids that share one home position, found by search. */
static int colliding_tids(uint32_t *out, int n)
{
	uint32_t home = vigil_thread_home(1);
	int found = 0;

	for (uint32_t tid = 1; found < n && tid < 50000000; tid++)
		if (vigil_thread_home(tid) == home)
			out[found++] = tid;
	return found;
}

static void test_insert_then_find(void **state)
{
	struct thread_table *t = *state;
	struct vigil_thread init = thread_of(4242, 7), got;
	long pos = thread_table_insert(t, &init);

	assert_true(pos >= 0);
	assert_int_equal(pos, vigil_thread_home(4242));
	assert_int_equal(thread_table_find(t, 4242), pos);
	thread_table_read(t, (uint32_t)pos, &got);
	assert_int_equal(got.vm_slot, 7);
	assert_int_equal(got.exec_ns, 1000 + 4242);
	assert_true(got.flags & VIGIL_THREAD_READY);
	assert_int_equal(thread_table_next_used(t, 0), pos);
	assert_int_equal(thread_table_find(t, 4243), -1);
}

static void test_collisions_probe_then_fill_up(void **state)
{
	struct thread_table *t = *state;
	uint32_t tids[VIGIL_THREAD_PROBES + 1];
	uint32_t home;

	assert_int_equal(colliding_tids(tids, VIGIL_THREAD_PROBES + 1), VIGIL_THREAD_PROBES + 1);
	home = vigil_thread_home(tids[0]);
	for (int i = 0; i < VIGIL_THREAD_PROBES; i++) {
		struct vigil_thread init = thread_of(tids[i], 1);

		assert_int_equal(thread_table_insert(t, &init), home + (uint32_t)i);
	}
	for (int i = 0; i < VIGIL_THREAD_PROBES; i++)
		assert_int_equal(thread_table_find(t, tids[i]), home + (uint32_t)i);
	/* The window is full: refused, and nothing else is touched. */
	struct vigil_thread extra = thread_of(tids[VIGIL_THREAD_PROBES], 1);
	assert_int_equal(thread_table_insert(t, &extra), -ENOSPC);
	assert_int_equal(thread_table_find(t, tids[VIGIL_THREAD_PROBES]), -1);
	/* A freed position is found again by the next claim, and the others
	 * are still found past it. */
	thread_table_free(t, home + 2);
	assert_int_equal(thread_table_find(t, tids[2]), -1);
	assert_int_equal(thread_table_find(t, tids[5]), home + 5);
	assert_int_equal(thread_table_insert(t, &extra), home + 2);
}

static void test_free_zeroes_and_unmarks(void **state)
{
	struct thread_table *t = *state;
	struct vigil_thread init = thread_of(777, 3), got;
	long pos = thread_table_insert(t, &init);

	thread_table_free(t, (uint32_t)pos);
	thread_table_read(t, (uint32_t)pos, &got);
	assert_int_equal(got.tid, 0);
	assert_int_equal(got.flags, 0);
	assert_int_equal(got.exec_ns, 0);
	assert_int_equal(got.vm_slot, 0);
	assert_int_equal(thread_table_next_used(t, 0), -1);
}

/* The kernel claimed an entry for the thread first, and has not marked it
 * ready yet: the loader's later entry is not the one the kernel uses. */
static void test_first_entry_is_the_kernels(void **state)
{
	struct thread_table *t = *state;
	uint32_t tid = 9001, home = vigil_thread_home(tid);
	struct vigil_thread init = thread_of(tid, 2);
	long pos;

	t->entries[home].tid = tid; /* claimed, not READY */
	pos = thread_table_insert(t, &init);
	assert_int_equal(pos, home + 1);
	assert_int_equal(thread_table_first(t, tid), home);
	assert_int_equal(thread_table_find(t, tid), -1);
	t->entries[home].flags = VIGIL_THREAD_READY;
	assert_int_equal(thread_table_find(t, tid), home);
}

static void test_walk_lists_every_position_in_use(void **state)
{
	struct thread_table *t = *state;
	uint32_t tids[] = { 10, 20000, 3000000, 4194303 };
	long expect[4], pos;
	int n = 0;

	for (int i = 0; i < 4; i++) {
		struct vigil_thread init = thread_of(tids[i], 1);

		expect[i] = thread_table_insert(t, &init);
		assert_true(expect[i] >= 0);
	}
	for (pos = thread_table_next_used(t, 0); pos >= 0; pos = thread_table_next_used(t, (uint32_t)pos + 1)) {
		int hit = 0;

		for (int i = 0; i < 4; i++)
			hit |= expect[i] == pos;
		assert_true(hit);
		n++;
	}
	assert_int_equal(n, 4);
}

static void test_assign_changes_only_the_bucket(void **state)
{
	struct thread_table *t = *state;
	struct vigil_thread init = thread_of(31337, 4), got;
	long pos = thread_table_insert(t, &init);

	thread_table_assign(t, (uint32_t)pos, 5, 3);
	thread_table_read(t, (uint32_t)pos, &got);
	assert_int_equal(got.vm_slot, 5);
	assert_int_equal(got.vcpu, 3);
	assert_int_equal(got.exec_ns, 1000 + 31337);
	assert_int_equal(thread_table_find(t, 31337), pos);
}

static void test_tid_zero_is_refused(void **state)
{
	struct thread_table *t = *state;
	struct vigil_thread init = thread_of(0, 1);

	assert_int_equal(thread_table_insert(t, &init), -EINVAL);
	assert_int_equal(thread_table_find(t, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_then_find, table_setup, table_teardown),
		cmocka_unit_test_setup_teardown(test_collisions_probe_then_fill_up, table_setup, table_teardown),
		cmocka_unit_test_setup_teardown(test_free_zeroes_and_unmarks, table_setup, table_teardown),
		cmocka_unit_test_setup_teardown(test_first_entry_is_the_kernels, table_setup, table_teardown),
		cmocka_unit_test_setup_teardown(test_walk_lists_every_position_in_use, table_setup, table_teardown),
		cmocka_unit_test_setup_teardown(test_assign_changes_only_the_bucket, table_setup, table_teardown),
		cmocka_unit_test_setup_teardown(test_tid_zero_is_refused, table_setup, table_teardown),
	};

	return cmocka_run_group_tests_name("thread_table", tests, NULL, NULL);
}
