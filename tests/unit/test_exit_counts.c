/* Per-interval kvm.exits samples from cumulative kernel counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"
#include "exit_counts.h"

struct fixture {
	Vigil__Batch *b;
	Vigil__VmSamples *vm;
	struct exit_counts counts;
};

static int setup(void **state)
{
	static struct fixture f;
	struct vm_target t = { .name = "vm1", .uuid = "00000000-0000-0000-0000-000000000001", .state = "running" };

	memset(&f, 0, sizeof(f));
	f.b = batch_new("hv", 1, 0, 1000, 1000);
	f.vm = f.b ? batch_add_vm(f.b, &t, 1) : NULL;
	*state = &f;
	return f.vm ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	exit_counts_free(&f->counts);
	batch_free(f->b);
	return 0;
}

/* The value of metric kvm.exits with the given reason tag (NULL: untagged),
 * among the samples from index first on; -1 if absent. */
static double exits(const Vigil__VmSamples *vm, size_t first, const char *reason)
{
	for (size_t i = first; i < vm->n_samples; i++) {
		const Vigil__Sample *s = vm->samples[i];
		int untagged = s->n_tags == 0;

		if (strcmp(s->metric, "kvm.exits") != 0)
			continue;
		if (!reason && untagged)
			return s->value;
		if (reason && !untagged && strcmp(s->tags[0]->value, reason) == 0)
			return s->value;
	}
	return -1;
}

static void test_no_exits_no_samples(void **state)
{
	struct fixture *f = *state;
	struct kvm_exit_reading other = { .vm_slot = 7, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 12, .count = 5 };

	assert_int_equal(exit_counts_emit(&f->counts, &other, 1, 0, f->vm), 0);
	assert_int_equal(f->vm->n_samples, 0);
}

static void test_deltas_per_reason_and_total(void **state)
{
	struct fixture *f = *state;
	struct kvm_exit_reading first[] = {
		{ .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 30, .count = 100 },   /* io_instruction */
		{ .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 12, .count = 10 },    /* hlt */
		{ .vm_slot = 1, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 12, .count = 999 },   /* another VM */
	};
	struct kvm_exit_reading second[] = {
		{ .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 30, .count = 130 },
		{ .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 12, .count = 10 },
		/* The same basic reason with a VMX flag bit: merged into hlt. */
		{ .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 12 | (1u << 31), .count = 2 },
		{ .vm_slot = 0, .isa = KVM_EXIT_ISA_SVM, .exit_reason = 0xfff0, .count = 4 },
	};
	size_t mark;

	assert_int_equal(exit_counts_emit(&f->counts, first, 3, 0, f->vm), 0);
	assert_true(exits(f->vm, 0, "io_instruction") == 100);
	assert_true(exits(f->vm, 0, "hlt") == 10);
	assert_true(exits(f->vm, 0, NULL) == 110);

	mark = f->vm->n_samples;
	assert_int_equal(exit_counts_emit(&f->counts, second, 4, 0, f->vm), 0);
	assert_true(exits(f->vm, mark, "io_instruction") == 30);
	assert_true(exits(f->vm, mark, "hlt") == 2);
	assert_true(exits(f->vm, mark, "unknown_65520") == 4);
	assert_true(exits(f->vm, mark, NULL) == 36);
}

static void test_idle_reason_reports_zero(void **state)
{
	struct fixture *f = *state;
	struct kvm_exit_reading r = { .vm_slot = 0, .isa = KVM_EXIT_ISA_SVM, .exit_reason = 0x78, .count = 3 };
	size_t mark;

	assert_int_equal(exit_counts_emit(&f->counts, &r, 1, 0, f->vm), 0);
	mark = f->vm->n_samples;
	assert_int_equal(exit_counts_emit(&f->counts, &r, 1, 0, f->vm), 0);
	assert_true(exits(f->vm, mark, kvm_exit_reason_name(KVM_EXIT_ISA_SVM, 0x78)) == 0);
	assert_true(exits(f->vm, mark, NULL) == 0);
}

/* A reason missing from one reading is not a drop to zero: when it comes
 * back its whole history is not counted again. */
static void test_missing_reason_is_not_a_reset(void **state)
{
	struct fixture *f = *state;
	struct kvm_exit_reading both[] = {
		{ .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 30, .count = 100 },
		{ .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 12, .count = 10 },
	};
	struct kvm_exit_reading io_only = { .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 30, .count = 105 };
	struct kvm_exit_reading back[] = {
		{ .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 30, .count = 105 },
		{ .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 12, .count = 13 },
	};
	size_t mark;

	assert_int_equal(exit_counts_emit(&f->counts, both, 2, 0, f->vm), 0);
	mark = f->vm->n_samples;
	assert_int_equal(exit_counts_emit(&f->counts, &io_only, 1, 0, f->vm), 0);
	assert_true(exits(f->vm, mark, "hlt") == 0);
	assert_true(exits(f->vm, mark, NULL) == 5);
	mark = f->vm->n_samples;
	assert_int_equal(exit_counts_emit(&f->counts, back, 2, 0, f->vm), 0);
	assert_true(exits(f->vm, mark, "hlt") == 3);
	assert_true(exits(f->vm, mark, NULL) == 3);
	assert_false(f->vm->counters_reset);
}

/* A count below the last one: its kernel entry started again from zero, so
 * it adds what it counted since, and the batch says so. */
static void test_count_going_back_is_a_reset(void **state)
{
	struct fixture *f = *state;
	struct kvm_exit_reading before = { .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 30, .count = 5000 };
	struct kvm_exit_reading after = { .vm_slot = 0, .isa = KVM_EXIT_ISA_VMX, .exit_reason = 30, .count = 7 };
	size_t mark;

	assert_int_equal(exit_counts_emit(&f->counts, &before, 1, 0, f->vm), 0);
	assert_false(f->vm->counters_reset);
	mark = f->vm->n_samples;
	assert_int_equal(exit_counts_emit(&f->counts, &after, 1, 0, f->vm), 0);
	assert_true(exits(f->vm, mark, "io_instruction") == 7);
	assert_true(exits(f->vm, mark, NULL) == 7);
	assert_true(f->vm->counters_reset);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_exits_no_samples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deltas_per_reason_and_total, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_reason_reports_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_reason_is_not_a_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_going_back_is_a_reset, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
