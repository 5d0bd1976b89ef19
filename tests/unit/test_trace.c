/* The benchmark's trace generator (bench/trace.c): the same seed gives the
 * same bytes whatever else was generated, every batch is one a collector
 * accepts with catalogue metrics and their real tags, and the readings
 * change at the configured rates (busy VMs) or not at all (idle VMs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalogue.h"
#include "trace.h"
#include "wire.h"

#define T0_MS 1700000000000LL

static struct trace_shape small_shape(uint64_t seed)
{
	struct trace_shape s;
	trace_shape_defaults(&s);
	s.hosts = 3;
	s.vms_per_host = 20;
	s.metrics = TRACE_MAX_METRICS;
	s.intervals = 12;
	s.seed = seed;
	s.t0_ms = T0_MS;
	return s;
}

/* Packs every interval of one host into one buffer, back to back. */
static uint8_t *pack_host(const struct trace_shape *s, uint32_t host, size_t *total)
{
	struct trace_host *h = trace_host_new(s, host);
	assert_non_null(h);
	uint8_t *all = NULL;
	*total = 0;
	const Vigil__Batch *b;
	for (uint64_t seq = 1; (b = trace_host_next(h, seq)); seq++) {
		size_t n = trace_envelope_size(b);
		all = realloc(all, *total + n);
		assert_non_null(all);
		assert_int_equal(trace_envelope_pack(b, all + *total), n);
		*total += n;
	}
	trace_host_free(h);
	return all;
}

static void test_same_seed_same_bytes_in_any_order(void **state)
{
	(void)state;
	struct trace_shape s = small_shape(42);
	size_t n0, n1, again1, again0;
	/* Host 1 alone, then host 0, then host 1 again and host 0 again. */
	uint8_t *h1 = pack_host(&s, 1, &n1);
	uint8_t *h0 = pack_host(&s, 0, &n0);
	uint8_t *h1b = pack_host(&s, 1, &again1);
	uint8_t *h0b = pack_host(&s, 0, &again0);
	assert_int_equal(n1, again1);
	assert_int_equal(n0, again0);
	assert_memory_equal(h1, h1b, n1);
	assert_memory_equal(h0, h0b, n0);
	/* Different hosts are different VMs with different readings. */
	assert_true(n0 != n1 || memcmp(h0, h1, n0) != 0);
	free(h0);
	free(h1);
	free(h0b);
	free(h1b);
}

static void test_other_seed_other_bytes(void **state)
{
	(void)state;
	struct trace_shape a = small_shape(1), b = small_shape(2);
	size_t na, nb;
	uint8_t *pa = pack_host(&a, 0, &na), *pb = pack_host(&b, 0, &nb);
	assert_true(na != nb || memcmp(pa, pb, na) != 0);
	free(pa);
	free(pb);
}

/* The catalogue lists the tag sets a metric comes with ("vcpu=N",
 * "if=TARGET,mac=MAC"): each tag the trace sends must be one of them. */
static void assert_catalogued(const Vigil__Sample *smp)
{
	const struct metric_def *def = catalogue_find(smp->metric);
	if (!def)
		fail_msg("metric %s is not in schema/metrics.tsv", smp->metric);
	for (size_t i = 0; i < smp->n_tags; i++) {
		char key[48];
		snprintf(key, sizeof(key), "%s=", smp->tags[i]->key);
		if (!strstr(def->tags, key))
			fail_msg("metric %s: tag %s is not one the catalogue lists (%s)", smp->metric, key, def->tags);
	}
}

static void test_batches_are_valid_catalogue_traffic(void **state)
{
	(void)state;
	struct trace_shape s = small_shape(7);
	struct trace_host *h = trace_host_new(&s, 2);
	assert_non_null(h);
	char err[512];
	const Vigil__Batch *b;
	uint32_t k = 0;
	for (uint64_t seq = 100; (b = trace_host_next(h, seq)); seq += 3, k++) {
		if (wire_validate_batch(b, T0_MS + 86400000LL, err, sizeof(err)) < 0)
			fail_msg("interval %u: %s", k, err);
		assert_int_equal(b->seq, seq);
		assert_string_equal(b->host, "bench-h0002");
		/* Synthetic time: contiguous intervals from t0. */
		assert_int_equal(b->t_start_ms, T0_MS + (int64_t)k * s.interval_ms);
		assert_int_equal(b->t_end_ms - b->t_start_ms, s.interval_ms);
		assert_int_equal(b->n_vms, s.vms_per_host);
		for (size_t v = 0; v < b->n_vms; v++) {
			assert_int_equal(b->vms[v]->n_samples, s.metrics);
			for (size_t m = 0; m < b->vms[v]->n_samples; m++)
				assert_catalogued(b->vms[v]->samples[m]);
		}
	}
	assert_int_equal(k, s.intervals);
	assert_int_equal(trace_host_position(h), s.intervals);
	assert_null(trace_host_next(h, 1000));
	trace_host_free(h);
	assert_int_equal(trace_total_samples(&s), 3ull * 20 * TRACE_MAX_METRICS * 12);
}

/* Percentages come at the probe's resolution: whole hundredths, each the
 * double nearest m / 100 (userspace/sampler.c), never full precision. */
static void test_percentages_are_whole_hundredths(void **state)
{
	(void)state;
	struct trace_shape s = small_shape(11);
	struct trace_host *h = trace_host_new(&s, 0);
	assert_non_null(h);
	const Vigil__Batch *b;
	size_t pcts = 0;
	for (uint64_t seq = 1; (b = trace_host_next(h, seq)); seq++)
		for (size_t v = 0; v < b->n_vms; v++)
			for (size_t m = 0; m < b->vms[v]->n_samples; m++) {
				const Vigil__Sample *smp = b->vms[v]->samples[m];
				size_t len = strlen(smp->metric);
				if (len < 4 || strcmp(smp->metric + len - 4, "_pct") != 0)
					continue;
				double hundredths = round(smp->value * 100.0);
				assert_true(smp->value == hundredths / 100.0);
				pcts++;
			}
	trace_host_free(h);
	assert_true(pcts > 0);
}

/* The shape: CPU, disk and network vary; memory and states hold. */
static void test_metric_families_have_the_right_change_class(void **state)
{
	(void)state;
	for (unsigned i = 0; i < TRACE_MAX_METRICS; i++) {
		const struct trace_metric *m = trace_metric_at(i);
		/* Drops are rare events: a steady zero-ish count. */
		int steady = (strncmp(m->metric, "mem.", 4) == 0 && strcmp(m->metric, "mem.minor_faults") != 0) ||
			     strstr(m->metric, "_drops") != NULL;
		assert_int_equal(m->change, steady ? TRACE_STEADY : TRACE_VARYING);
	}
	assert_null(trace_metric_at(TRACE_MAX_METRICS));
}

struct change_counts {
	unsigned long changed[2], total[2]; /* by change class, busy VMs only */
	unsigned idle_vms, busy_vms;
};

/* Compares each interval's readings with the previous one's, per series. */
static struct change_counts count_changes(const struct trace_shape *s)
{
	struct change_counts c = { 0 };
	size_t series = (size_t)s->vms_per_host * s->metrics;
	double *prev = calloc(series, sizeof(*prev));
	unsigned *vm_changes = calloc(s->vms_per_host, sizeof(*vm_changes));
	unsigned long *by_class = calloc(series, sizeof(*by_class));
	assert_non_null(prev);
	assert_non_null(vm_changes);
	assert_non_null(by_class);
	struct trace_host *h = trace_host_new(s, 0);
	const Vigil__Batch *b;
	for (uint64_t seq = 1; (b = trace_host_next(h, seq)); seq++) {
		for (size_t i = 0; i < series; i++) {
			double v = b->vms[i / s->metrics]->samples[i % s->metrics]->value;
			if (seq > 1 && v != prev[i]) {
				vm_changes[i / s->metrics]++;
				by_class[i]++;
			}
			prev[i] = v;
		}
	}
	for (size_t i = 0; i < series; i++) {
		if (vm_changes[i / s->metrics] == 0)
			continue;
		enum trace_change_class cls = trace_metric_at((unsigned)(i % s->metrics))->change;
		c.changed[cls] += by_class[i];
		c.total[cls] += s->intervals - 1;
	}
	for (uint32_t v = 0; v < s->vms_per_host; v++) {
		if (vm_changes[v])
			c.busy_vms++;
		else
			c.idle_vms++;
	}
	trace_host_free(h);
	free(prev);
	free(vm_changes);
	free(by_class);
	return c;
}

static void test_change_rates_follow_the_shape(void **state)
{
	(void)state;
	struct trace_shape s;
	trace_shape_defaults(&s);
	s.hosts = 1;
	s.vms_per_host = 300;
	s.intervals = 60;
	s.idle_share = 0.3;
	s.vary_rate = 0.7;
	s.steady_rate = 0.05;
	s.t0_ms = T0_MS;
	struct change_counts c = count_changes(&s);
	double idle = (double)c.idle_vms / s.vms_per_host;
	double vary = (double)c.changed[TRACE_VARYING] / (double)c.total[TRACE_VARYING];
	double steady = (double)c.changed[TRACE_STEADY] / (double)c.total[TRACE_STEADY];
	print_message("idle share %.3f, varying %.4f, steady %.4f\n", idle, vary, steady);
	/* 300 VMs: the idle share's standard error is about 0.027. */
	assert_true(idle > 0.2 && idle < 0.4);
	/* Hundreds of thousands of draws: the rates are within a percent. */
	assert_true(vary > 0.69 && vary < 0.71);
	assert_true(steady > 0.045 && steady < 0.055);
}

static void test_flat_trace_never_changes(void **state)
{
	(void)state;
	struct trace_shape s;
	trace_shape_defaults(&s);
	s.hosts = 1;
	s.vms_per_host = 50;
	s.intervals = 20;
	s.idle_share = 1.0;
	s.t0_ms = T0_MS;
	struct change_counts c = count_changes(&s);
	assert_int_equal(c.idle_vms, 50);
	assert_int_equal(c.busy_vms, 0);
}

static void test_bad_shapes_are_refused(void **state)
{
	(void)state;
	char err[256];
	struct trace_shape s = small_shape(1);
	assert_int_equal(trace_shape_check(&s, err, sizeof(err)), 0);
	s.metrics = TRACE_MAX_METRICS + 1;
	assert_int_equal(trace_shape_check(&s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "metrics"));
	s = small_shape(1);
	s.t0_ms = 0;
	assert_int_equal(trace_shape_check(&s, err, sizeof(err)), -1);
	s = small_shape(1);
	s.vms_per_host = WIRE_MAX_VMS + 1;
	assert_int_equal(trace_shape_check(&s, err, sizeof(err)), -1);
	s = small_shape(1);
	trace_shape_end_at(&s, T0_MS + 123456);
	assert_int_equal(s.t0_ms % s.interval_ms, 0);
	assert_true(s.t0_ms + (int64_t)s.intervals * s.interval_ms <= T0_MS + 123456);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_bytes_in_any_order),
		cmocka_unit_test(test_other_seed_other_bytes),
		cmocka_unit_test(test_batches_are_valid_catalogue_traffic),
		cmocka_unit_test(test_percentages_are_whole_hundredths),
		cmocka_unit_test(test_metric_families_have_the_right_change_class),
		cmocka_unit_test(test_change_rates_follow_the_shape),
		cmocka_unit_test(test_flat_trace_never_changes),
		cmocka_unit_test(test_bad_shapes_are_refused),
	};
	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
