/* The sampler's bookkeeping with fake kernel readings: per-interval figures
 * from cumulative counters, and counters_reset on a VM's first batch, on a
 * new process of the same VM, and when a counter goes back. No BPF: the
 * sampler runs without the CPU program and is fed readings directly. The
 * targets are real (sleeping) child processes, since the sampler lists
 * their threads in /proc. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "batch.h"
#include "sampler.h"

#define WINDOW_NS 1000000000ull /* 1 s */
#define MS 1000000ull

struct fixture {
	struct sampler *s;
	pid_t child[2];
	Vigil__Batch *b;
};

static pid_t sleeping_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* Bounded: the teardown kills it long before. */
		sleep(60);
		_exit(0);
	}
	return pid;
}

static int setup(void **state)
{
	static struct fixture f;
	const struct sampler_probes none = { 0 };

	memset(&f, 0, sizeof(f));
	if (sampler_new(&f.s, NULL, &none) < 0)
		return -1;
	f.child[0] = sleeping_child();
	f.child[1] = sleeping_child();
	*state = &f;
	return f.child[0] > 0 && f.child[1] > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sampler_free(f->s);
	batch_free(f->b);
	for (int i = 0; i < 2; i++) {
		if (f->child[i] > 0) {
			kill(f->child[i], SIGKILL);
			waitpid(f->child[i], NULL, 0);
		}
	}
	return 0;
}

static struct vm_target target(const char *name, const char *uuid, pid_t pid)
{
	struct vm_target t = { .source = VM_SOURCE_PID, .pid = pid };

	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.uuid, sizeof(t.uuid), "%s", uuid);
	snprintf(t.state, sizeof(t.state), "%s", pid > 0 ? "running" : "no-process");
	return t;
}

#define UUID1 "00000000-0000-4000-8000-000000000001"
#define UUID2 "00000000-0000-4000-8000-000000000002"

/* The non-vCPU bucket of slot with the given cumulative on-CPU and wait
 * times. */
static struct cpu_bucket_reading emulator(uint32_t slot, uint64_t on_cpu_ns, uint64_t wait_ns)
{
	return (struct cpu_bucket_reading){ .vm_slot = slot, .vcpu = -1, .on_cpu_ns = on_cpu_ns, .wait_ns = wait_ns };
}

/* One interval with the given readings; the fixture keeps the batch. */
static void collect(struct fixture *f, const struct cpu_bucket_reading *r, size_t n)
{
	batch_free(f->b);
	f->b = batch_new("hv", 1, 0, 1000, 1000);
	assert_non_null(f->b);
	assert_int_equal(sampler_collect_readings(f->s, r, n, NULL, 0, WINDOW_NS, f->b), 0);
}

static const Vigil__VmSamples *vm_named(const struct fixture *f, const char *name)
{
	for (size_t i = 0; i < f->b->n_vms; i++)
		if (strcmp(f->b->vms[i]->name, name) == 0)
			return f->b->vms[i];
	fail_msg("vm %s is not in the batch", name);
	return NULL;
}

/* The untagged (whole VM) value of metric; -1 if absent. */
static double whole_vm(const Vigil__VmSamples *vm, const char *metric)
{
	for (size_t i = 0; i < vm->n_samples; i++)
		if (vm->samples[i]->n_tags == 0 && strcmp(vm->samples[i]->metric, metric) == 0)
			return vm->samples[i]->value;
	return -1;
}

/* Every CPU figure of the VM is a percentage of one core that one thread
 * could have reached in the window: never negative, never huge. */
static void assert_cpu_sane(const Vigil__VmSamples *vm)
{
	for (size_t i = 0; i < vm->n_samples; i++) {
		const Vigil__Sample *s = vm->samples[i];

		if (strncmp(s->metric, "cpu.", 4) == 0 && strcmp(s->metric, "cpu.preempted") != 0) {
			assert_true(s->value >= 0);
			assert_true(s->value <= 100);
		}
	}
}

static void test_first_batch_flagged_second_not(void **state)
{
	struct fixture *f = *state;
	struct vm_target t = target("vm1", UUID1, f->child[0]);
	struct cpu_bucket_reading r;

	sampler_sync(f->s, &t, 1);
	r = emulator(0, 100 * MS, 10 * MS);
	collect(f, &r, 1);
	assert_true(vm_named(f, "vm1")->counters_reset);
	/* Counted from zero when the VM was registered. */
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.used_pct") == 10.0);

	sampler_sync(f->s, &t, 1);
	r = emulator(0, 300 * MS, 10 * MS);
	collect(f, &r, 1);
	assert_false(vm_named(f, "vm1")->counters_reset);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.used_pct") == 20.0);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.wait_pct") == 0.0);
}

static void test_counter_going_back_is_flagged_and_bounded(void **state)
{
	struct fixture *f = *state;
	struct vm_target t = target("vm1", UUID1, f->child[0]);
	struct cpu_bucket_reading r;

	sampler_sync(f->s, &t, 1);
	r = emulator(0, 700 * MS, 900 * MS);
	collect(f, &r, 1);
	sampler_sync(f->s, &t, 1);
	r = emulator(0, 1500 * MS, 1800 * MS);
	collect(f, &r, 1);
	assert_false(vm_named(f, "vm1")->counters_reset);

	/* The bucket was recreated: it counted 50 ms and 20 ms since. */
	sampler_sync(f->s, &t, 1);
	r = emulator(0, 50 * MS, 20 * MS);
	collect(f, &r, 1);
	assert_true(vm_named(f, "vm1")->counters_reset);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.used_pct") == 5.0);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.wait_pct") == 2.0);
	assert_cpu_sane(vm_named(f, "vm1"));

	/* Then on from there, unflagged. */
	sampler_sync(f->s, &t, 1);
	r = emulator(0, 150 * MS, 20 * MS);
	collect(f, &r, 1);
	assert_false(vm_named(f, "vm1")->counters_reset);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.used_pct") == 10.0);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.wait_pct") == 0.0);
}

/* Percentages have a fixed resolution of 0.01 percentage points
 * (schema/metrics.tsv): 123,456,789 ns of CPU in 1 s is 12.35%, exactly
 * the double nearest 1235 / 100, not 12.3456789. */
static void test_percentages_are_whole_hundredths(void **state)
{
	struct fixture *f = *state;
	struct vm_target t = target("vm1", UUID1, f->child[0]);
	struct cpu_bucket_reading r;

	sampler_sync(f->s, &t, 1);
	r = emulator(0, 123456789ull, 6666666ull);
	collect(f, &r, 1);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.used_pct") == 1235 / 100.0);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.wait_pct") == 67 / 100.0);

	/* Half a hundredth rounds away from zero: 0.005% is 50,000 ns. */
	sampler_sync(f->s, &t, 1);
	r = emulator(0, 123456789ull + 50000ull, 6666666ull);
	collect(f, &r, 1);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.used_pct") == 1 / 100.0);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.wait_pct") == 0.0);
}

/* Same UUID, new pid: QEMU restarted (destroy and start, or a reboot that
 * restarts it). The new process counts from zero in a fresh slot. */
static void test_new_process_is_flagged(void **state)
{
	struct fixture *f = *state;
	struct vm_target t = target("vm1", UUID1, f->child[0]);
	struct cpu_bucket_reading r;

	sampler_sync(f->s, &t, 1);
	r = emulator(0, 900 * MS, 0);
	collect(f, &r, 1);
	sampler_sync(f->s, &t, 1);
	r = emulator(0, 1800 * MS, 0);
	collect(f, &r, 1);
	assert_false(vm_named(f, "vm1")->counters_reset);

	t.pid = f->child[1];
	sampler_sync(f->s, &t, 1);
	/* The slot was released (its kernel counts deleted) and taken again. */
	r = emulator(0, 40 * MS, 0);
	collect(f, &r, 1);
	assert_true(vm_named(f, "vm1")->counters_reset);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.used_pct") == 4.0);
	assert_cpu_sane(vm_named(f, "vm1"));

	sampler_sync(f->s, &t, 1);
	r = emulator(0, 140 * MS, 0);
	collect(f, &r, 1);
	assert_false(vm_named(f, "vm1")->counters_reset);
	assert_true(whole_vm(vm_named(f, "vm1"), "cpu.used_pct") == 10.0);
}

/* Between the two processes the VM may be listed without one: that batch
 * has no counters and is not a restart; the new process's first is. */
static void test_gone_then_back(void **state)
{
	struct fixture *f = *state;
	struct vm_target t = target("vm1", UUID1, f->child[0]);
	struct vm_target gone = target("vm1", UUID1, 0);

	sampler_sync(f->s, &t, 1);
	collect(f, NULL, 0);
	sampler_sync(f->s, &t, 1);
	collect(f, NULL, 0);
	assert_false(vm_named(f, "vm1")->counters_reset);

	sampler_sync(f->s, &gone, 1);
	collect(f, NULL, 0);
	assert_string_equal(vm_named(f, "vm1")->state, "no-process");
	assert_int_equal(vm_named(f, "vm1")->n_samples, 0);
	assert_false(vm_named(f, "vm1")->counters_reset);

	t.pid = f->child[1];
	sampler_sync(f->s, &t, 1);
	collect(f, NULL, 0);
	assert_true(vm_named(f, "vm1")->counters_reset);
	assert_string_equal(vm_named(f, "vm1")->state, "running");
}

/* A VM that appears while the probe runs: only its own first batch. */
static void test_vm_appearing_later(void **state)
{
	struct fixture *f = *state;
	struct vm_target both[2] = { target("vm1", UUID1, f->child[0]), target("vm2", UUID2, f->child[1]) };

	sampler_sync(f->s, both, 1);
	collect(f, NULL, 0);
	sampler_sync(f->s, both, 2);
	collect(f, NULL, 0);
	assert_false(vm_named(f, "vm1")->counters_reset);
	assert_true(vm_named(f, "vm2")->counters_reset);
	sampler_sync(f->s, both, 2);
	collect(f, NULL, 0);
	assert_false(vm_named(f, "vm2")->counters_reset);
}

/* The guest's own cumulative counts (balloon statistics) going back: the
 * guest rebooted inside the same QEMU. */
static void test_guest_counter_going_back(void **state)
{
	struct fixture *f = *state;
	struct vm_target t = target("vm1", UUID1, f->child[0]);

	t.memory.balloon_have = 1u << BALLOON_MAJOR_FAULTS;
	t.memory.balloon[BALLOON_MAJOR_FAULTS] = 52000;
	sampler_sync(f->s, &t, 1);
	collect(f, NULL, 0);
	t.memory.balloon[BALLOON_MAJOR_FAULTS] = 52100;
	sampler_sync(f->s, &t, 1);
	collect(f, NULL, 0);
	assert_false(vm_named(f, "vm1")->counters_reset);

	t.memory.balloon[BALLOON_MAJOR_FAULTS] = 12;
	sampler_sync(f->s, &t, 1);
	collect(f, NULL, 0);
	assert_true(vm_named(f, "vm1")->counters_reset);
	assert_true(whole_vm(vm_named(f, "vm1"), "mem.guest_major_faults") == 12);

	/* A statistic missing from one listing is no reading, not a zero. */
	t.memory.balloon_have = 0;
	sampler_sync(f->s, &t, 1);
	collect(f, NULL, 0);
	assert_false(vm_named(f, "vm1")->counters_reset);
	t.memory.balloon_have = 1u << BALLOON_MAJOR_FAULTS;
	t.memory.balloon[BALLOON_MAJOR_FAULTS] = 20;
	sampler_sync(f->s, &t, 1);
	collect(f, NULL, 0);
	assert_false(vm_named(f, "vm1")->counters_reset);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_batch_flagged_second_not, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_going_back_is_flagged_and_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_percentages_are_whole_hundredths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_process_is_flagged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_then_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_appearing_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_counter_going_back, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
