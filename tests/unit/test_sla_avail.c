/* Availability arithmetic, checked against the design's table of nines
 * (allowed downtime per year) and a worked outage example. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "sla_avail.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define YEAR (365 * DAY)

/* The design brief's table: target -> downtime per year. */
static void test_table_of_nines(void **state)
{
	(void)state;
	char text[64];
	/* 99%: 3.65 days */
	assert_int_equal(sla_allowed_downtime_ms(YEAR, 99.0), 365 * DAY / 100);
	sla_format_duration(sla_allowed_downtime_ms(YEAR, 99.0), text, sizeof(text));
	assert_string_equal(text, "3 d 15 h 36 min"); /* 3.65 d */
	/* 99.9%: 8 h 45 min (8.76 h) */
	sla_format_duration(sla_allowed_downtime_ms(YEAR, 99.9), text, sizeof(text));
	assert_string_equal(text, "8 h 45 min 36 s");
	/* 99.99%: 52.5 min (52.56) */
	assert_int_equal(sla_allowed_downtime_ms(YEAR, 99.99), 3153600);
	sla_format_duration(sla_allowed_downtime_ms(YEAR, 99.99), text, sizeof(text));
	assert_string_equal(text, "52 min 33.6 s");
	/* 99.999%: 5.25 min (5.256) */
	assert_int_equal(sla_allowed_downtime_ms(YEAR, 99.999), 315360);
	sla_format_duration(sla_allowed_downtime_ms(YEAR, 99.999), text, sizeof(text));
	assert_string_equal(text, "5 min 15.4 s");
	/* and the number of nines of each */
	assert_true(fabs(sla_nines(0.99) - 2) < 1e-9);
	assert_true(fabs(sla_nines(0.999) - 3) < 1e-9);
	assert_true(fabs(sla_nines(0.9999) - 4) < 1e-9);
	assert_true(fabs(sla_nines(0.99999) - 5) < 1e-9);
	assert_true(isinf(sla_nines(1.0)));
	sla_format_duration(0, text, sizeof(text));
	assert_string_equal(text, "0 s");
}

/* A year with exactly the 99.9% budget used by two outages meets the
 * target; one second more does not. d = MTBF / (MTBF + MTTR). */
static void test_outages_mtbf_mttr(void **state)
{
	(void)state;
	int64_t budget = sla_allowed_downtime_ms(YEAR, 99.9); /* 31,536,000 ms */
	int64_t first = budget / 2, second = budget - first;
	struct sla_span up[] = {
		{ 0, 100 * DAY },
		{ 100 * DAY + first, 200 * DAY },
		/* overlapping rows and a 500 ms jitter gap are one up stretch */
		{ 200 * DAY + second, 300 * DAY },
		{ 250 * DAY, 300 * DAY + 10 },
		{ 300 * DAY + 510, YEAR },
	};
	struct sla_availability a;
	assert_int_equal(sla_availability_compute(up, 5, 0, YEAR, 99.9, &a), 0);
	assert_int_equal(a.n_outages, 2);
	assert_int_equal(a.outages[0].start_ms, 100 * DAY);
	assert_int_equal(a.outages[0].end_ms, 100 * DAY + first);
	assert_int_equal(a.downtime_ms, budget);
	assert_int_equal(a.uptime_ms, YEAR - budget);
	assert_true(fabs(a.uptime_pct - 99.9) < 1e-9);
	assert_true(fabs(a.nines - 3) < 1e-6);
	assert_int_equal(a.mttr_ms, budget / 2);
	assert_int_equal(a.mtbf_ms, (YEAR - budget) / 2);
	double d = (double)a.mtbf_ms / (double)(a.mtbf_ms + a.mttr_ms);
	assert_true(fabs(d - 0.999) < 1e-9);
	assert_true(a.target_met);
	sla_availability_free(&a);

	up[1].start_ms += 1000; /* one second more downtime */
	assert_int_equal(sla_availability_compute(up, 5, 0, YEAR, 99.9, &a), 0);
	assert_false(a.target_met);
	sla_availability_free(&a);
}

static void test_edges(void **state)
{
	(void)state;
	struct sla_availability a;
	/* Nothing up: all one outage. */
	assert_int_equal(sla_availability_compute(NULL, 0, 0, HOUR, 99.0, &a), 0);
	assert_int_equal(a.n_outages, 1);
	assert_int_equal(a.downtime_ms, HOUR);
	assert_true(a.uptime_pct == 0);
	sla_availability_free(&a);
	/* Up the whole window, rows reaching past it: no outage, infinite nines. */
	struct sla_span all[] = { { -HOUR, 2 * HOUR } };
	assert_int_equal(sla_availability_compute(all, 1, 0, HOUR, 99.999, &a), 0);
	assert_int_equal(a.n_outages, 0);
	assert_int_equal(a.uptime_ms, HOUR);
	assert_true(isinf(a.nines));
	assert_int_equal(a.mtbf_ms, 0);
	assert_true(a.target_met);
	sla_availability_free(&a);
	/* Down at the start and at the end. */
	struct sla_span mid[] = { { 10 * MIN, 50 * MIN } };
	assert_int_equal(sla_availability_compute(mid, 1, 0, HOUR, 99.0, &a), 0);
	assert_int_equal(a.n_outages, 2);
	assert_int_equal(a.downtime_ms, 20 * MIN);
	assert_int_equal(a.outages[1].start_ms, 50 * MIN);
	sla_availability_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_of_nines),
		cmocka_unit_test(test_outages_mtbf_mttr),
		cmocka_unit_test(test_edges),
	};
	return cmocka_run_group_tests_name("sla_avail", tests, NULL, NULL);
}
