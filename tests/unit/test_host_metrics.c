/* Parsing the host's CPU figures, and the host entry's counters_reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "batch.h"
#include "host_metrics.h"

static double sample_of(const Vigil__VmSamples *vm, const char *metric)
{
	for (size_t i = 0; i < vm->n_samples; i++)
		if (strcmp(vm->samples[i]->metric, metric) == 0)
			return vm->samples[i]->value;
	return -1;
}

static void test_proc_stat_cpu_line(void **state)
{
	uint64_t busy, total;

	(void)state;
	/* user nice system idle iowait irq softirq steal */
	assert_int_equal(parse_proc_stat_cpu("cpu  100 5 50 800 40 3 2 0 0 0\n", &busy, &total), 0);
	assert_int_equal(total, 1000);
	assert_int_equal(busy, 160);
	/* Old kernels print only four fields. */
	assert_int_equal(parse_proc_stat_cpu("cpu 10 0 10 80\n", &busy, &total), 0);
	assert_int_equal(total, 100);
	assert_int_equal(busy, 20);
	assert_int_equal(parse_proc_stat_cpu("cpu0 1 2 3 4\n", &busy, &total), -22);
	assert_int_equal(parse_proc_stat_cpu("intr 1 2\n", &busy, &total), -22);
}

/* The probe's first host entry has no earlier reading to join to; the
 * next one does, and its CPU share is a sane percentage. */
static void test_first_host_entry_is_a_reset(void **state)
{
	struct host_metrics h = { 0 };
	Vigil__Batch *first = batch_new("hv", 1, 0, 1000, 1000);
	Vigil__Batch *second = batch_new("hv", 2, 1000, 2000, 1000);

	(void)state;
	assert_non_null(first);
	assert_non_null(second);
	assert_int_equal(host_metrics_emit(&h, first, "hv", 0, 1000000000ull), 0);
	assert_int_equal(first->n_vms, 1);
	assert_true(first->vms[0]->counters_reset);
	assert_true(sample_of(first->vms[0], "host.cpu_pct") == -1);
	usleep(30000);
	assert_int_equal(host_metrics_emit(&h, second, "hv", 0, 1000000000ull), 0);
	assert_false(second->vms[0]->counters_reset);
	double cpu = sample_of(second->vms[0], "host.cpu_pct");
	assert_true(cpu == -1 || (cpu >= 0 && cpu <= 100)); /* -1: no tick in 30 ms */
	host_metrics_free(&h);
	batch_free(first);
	batch_free(second);
}

/* /proc/stat going back (it cannot restart without a host reboot) leaves
 * the figure out instead of sending a huge one, and marks the entry. */
static void test_host_counter_going_back_is_left_out(void **state)
{
	struct host_metrics h = { 0 };
	Vigil__Batch *first = batch_new("hv", 1, 0, 1000, 1000);
	Vigil__Batch *second = batch_new("hv", 2, 1000, 2000, 1000);

	(void)state;
	assert_int_equal(host_metrics_emit(&h, first, "hv", 0, 1000000000ull), 0);
	h.cpu_busy = UINT64_MAX / 2;
	h.cpu_total = UINT64_MAX / 2;
	assert_int_equal(host_metrics_emit(&h, second, "hv", 0, 1000000000ull), 0);
	assert_true(second->vms[0]->counters_reset);
	assert_true(sample_of(second->vms[0], "host.cpu_pct") == -1);
	host_metrics_free(&h);
	batch_free(first);
	batch_free(second);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_stat_cpu_line),
		cmocka_unit_test(test_first_host_entry_is_a_reset),
		cmocka_unit_test(test_host_counter_going_back_is_left_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
