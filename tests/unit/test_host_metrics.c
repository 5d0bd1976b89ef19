/* Parsing the host's CPU figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "host_metrics.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_stat_cpu_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
