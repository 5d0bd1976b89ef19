/* Learning the SLA network's tables: cases drawn from a known network are
 * learned back from a flat start, with complete data (closed form) and with
 * values missing at random (EM), and the CSV reader's messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "sla_learn.h"
#include "sla_net.h"

#define assert_near(got, want, eps)                                                                   \
	do {                                                                                          \
		double got_ = (got), want_ = (want);                                                  \
		if (!(fabs(got_ - want_) <= (eps)))                                                   \
			fail_msg("%s = %.6g, want %.6g (within %g)", #got, got_, want_, (double)(eps)); \
	} while (0)

/* A small network every row of which 10,000 cases cover well (the rarest
 * parent combination, A=a2 B=b1, has probability 0.12). */
static const char truth_text[] =
	"variable A { type discrete [ 3 ] { a0, a1, a2 }; }\n"
	"variable B { type discrete [ 2 ] { b0, b1 }; }\n"
	"variable C { type discrete [ 2 ] { c0, c1 }; }\n"
	"probability ( A ) { table 0.4, 0.3, 0.3; }\n"
	"probability ( B ) { table 0.6, 0.4; }\n"
	"probability ( C | A, B ) {\n"
	"  (a0, b0) 0.9, 0.1; (a0, b1) 0.6, 0.4; (a1, b0) 0.7, 0.3;\n"
	"  (a1, b1) 0.3, 0.7; (a2, b0) 0.4, 0.6; (a2, b1) 0.1, 0.9;\n"
	"}\n";

static const char flat_text[] =
	"variable A { type discrete [ 3 ] { a0, a1, a2 }; }\n"
	"variable B { type discrete [ 2 ] { b0, b1 }; }\n"
	"variable C { type discrete [ 2 ] { c0, c1 }; }\n"
	"probability ( A ) { table 0.34, 0.33, 0.33; }\n"
	"probability ( B ) { table 0.5, 0.5; }\n"
	"probability ( C | A, B ) { default 0.5, 0.5; }\n";

/* splitmix64: a fixed seed gives the same cases on every run. */
static uint64_t rng_state;

static double uniform01(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

static void parse(struct bn *net, const char *text)
{
	char err[256];
	if (bn_parse(net, text, "test", err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

/* Forward sampling; each value is then hidden with probability p_missing. */
static void sample_cases(const struct bn *net, int n, double p_missing, struct bn_cases *out)
{
	bn_cases_init(out, net);
	for (int k = 0; k < n; k++) {
		int assign[BN_MAX_NODES];
		for (int t = 0; t < net->n_nodes; t++) {
			int i = net->topo[t];
			const struct bn_node *nd = &net->node[i];
			const double *row = &nd->cpt[bn_config(nd, assign) * nd->n_states];
			double u = uniform01(), acc = 0;
			assign[i] = nd->n_states - 1;
			for (int s = 0; s < nd->n_states; s++) {
				acc += row[s];
				if (u < acc) {
					assign[i] = s;
					break;
				}
			}
		}
		for (int i = 0; i < net->n_nodes; i++)
			if (uniform01() < p_missing)
				assign[i] = -1;
		assert_int_equal(bn_cases_add(out, assign), 0);
	}
}

static double max_table_error(const struct bn *a, const struct bn *b)
{
	double worst = 0;
	for (int i = 0; i < a->n_nodes; i++)
		for (int k = 0; k < a->node[i].n_configs * a->node[i].n_states; k++)
			worst = fmax(worst, fabs(a->node[i].cpt[k] - b->node[i].cpt[k]));
	return worst;
}

static double mean_table_error(const struct bn *a, const struct bn *b)
{
	double sum = 0;
	int n = 0;
	for (int i = 0; i < a->n_nodes; i++)
		for (int k = 0; k < a->node[i].n_configs * a->node[i].n_states; k++, n++)
			sum += fabs(a->node[i].cpt[k] - b->node[i].cpt[k]);
	return sum / n;
}

static void learn(struct bn *net, const struct bn_cases *c, struct bn_learn_report *r)
{
	struct bn_learn_opts o = BN_LEARN_DEFAULTS;
	char err[256];
	if (bn_learn(net, c, &o, r, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

static void test_complete_data_recovers_tables(void **state)
{
	(void)state;
	struct bn truth, net;
	struct bn_cases cases;
	struct bn_learn_report r;
	parse(&truth, truth_text);
	parse(&net, flat_text);
	rng_state = 1;
	sample_cases(&truth, 10000, 0, &cases);
	learn(&net, &cases, &r);
	print_message("complete: max error %.4f, %d iteration(s), log-likelihood %.1f\n",
		      max_table_error(&net, &truth), r.iterations, r.log_likelihood);
	assert_true(max_table_error(&net, &truth) <= 0.03);
	assert_int_equal(r.iterations, 1);
	assert_int_equal(r.missing, 0);
	assert_true(r.distinct <= 12);
	assert_true(r.log_likelihood > r.start_log_likelihood);
	bn_cases_free(&cases);
	bn_free(&truth);
	bn_free(&net);
}

static void test_em_with_missing_values_recovers_tables(void **state)
{
	(void)state;
	struct bn truth, net;
	struct bn_cases cases;
	struct bn_learn_report r;
	parse(&truth, truth_text);
	parse(&net, flat_text);
	rng_state = 2;
	sample_cases(&truth, 10000, 0.2, &cases);
	learn(&net, &cases, &r);
	print_message("20%% missing: max error %.4f, %d iterations, log-likelihood %.1f (start %.1f)\n",
		      max_table_error(&net, &truth), r.iterations, r.log_likelihood, r.start_log_likelihood);
	assert_true(max_table_error(&net, &truth) <= 0.03);
	assert_true(r.missing > 5000);
	assert_true(r.iterations > 1);
	assert_true(r.converged);
	assert_true(r.log_likelihood > r.start_log_likelihood);
	bn_cases_free(&cases);
	bn_free(&truth);
	bn_free(&net);
}

/* 100 cases cannot pin every row down; "sensible" means: closer to the
 * truth than the flat start, no probability driven to 0 or 1 by an
 * unseen combination, and better at predicting fresh cases. */
static void test_few_cases_learn_sensibly(void **state)
{
	(void)state;
	struct bn truth, net, flat;
	struct bn_cases cases, fresh;
	struct bn_learn_report r, fresh_before, fresh_after;
	parse(&truth, truth_text);
	parse(&net, flat_text);
	parse(&flat, flat_text);
	rng_state = 3;
	sample_cases(&truth, 100, 0.1, &cases);
	learn(&net, &cases, &r);
	double err = mean_table_error(&net, &truth);
	print_message("100 cases: mean error %.4f (flat start %.4f), max %.4f\n", err,
		      mean_table_error(&flat, &truth), max_table_error(&net, &truth));
	assert_true(err < mean_table_error(&flat, &truth) / 2);
	assert_true(err < 0.1);
	for (int i = 0; i < net.n_nodes; i++)
		for (int k = 0; k < net.node[i].n_configs * net.node[i].n_states; k++)
			assert_true(net.node[i].cpt[k] > 0.005 && net.node[i].cpt[k] < 0.995);
	/* Held-out likelihood: bn_learn reports the cases' log-likelihood
	 * under the tables it starts from; copies keep net and flat intact. */
	sample_cases(&truth, 5000, 0, &fresh);
	struct bn_learn_opts probe = BN_LEARN_DEFAULTS;
	char msg[256];
	struct bn a, b;
	assert_int_equal(bn_copy(&a, &flat), 0);
	assert_int_equal(bn_copy(&b, &net), 0);
	assert_int_equal(bn_learn(&a, &fresh, &probe, &fresh_before, msg, sizeof(msg)), 0);
	assert_int_equal(bn_learn(&b, &fresh, &probe, &fresh_after, msg, sizeof(msg)), 0);
	assert_true(fresh_after.start_log_likelihood > fresh_before.start_log_likelihood);
	bn_free(&a);
	bn_free(&b);
	bn_cases_free(&fresh);
	bn_cases_free(&cases);
	bn_free(&truth);
	bn_free(&net);
	bn_free(&flat);
}

/* The design's structure: 10,000 cases drawn from the default network are
 * learned from flat tables; the root tables come back within 0.03, and so
 * does P(VIOLATED) given each single piece of evidence. */
static void test_default_structure_recovered(void **state)
{
	(void)state;
	struct bn truth, net;
	struct bn_cases cases;
	struct bn_learn_report r;
	parse(&truth, bn_default_text);
	parse(&net, bn_default_text);
	for (int i = 0; i < net.n_nodes; i++) {
		struct bn_node *n = &net.node[i];
		for (int k = 0; k < n->n_configs * n->n_states; k++)
			n->cpt[k] = 1.0 / n->n_states;
	}
	rng_state = 4;
	sample_cases(&truth, 10000, 0, &cases);
	learn(&net, &cases, &r);
	int sla = bn_find_node(&net, "SLA"), ev[BN_MAX_NODES];
	double worst = 0;
	for (int i = 0; i < net.n_nodes; i++) {
		if (i == sla)
			continue;
		for (int k = 0; k < net.node[i].n_states; k++)
			worst = fmax(worst, fabs(net.node[i].cpt[k] - truth.node[i].cpt[k]));
		for (int s = 0; s < net.node[i].n_states; s++) {
			double want[2], got[2];
			char err[256];
			for (int j = 0; j < BN_MAX_NODES; j++)
				ev[j] = -1;
			ev[i] = s;
			assert_int_equal(bn_posterior(&truth, ev, sla, want, err, sizeof(err)), 0);
			assert_int_equal(bn_posterior(&net, ev, sla, got, err, sizeof(err)), 0);
			worst = fmax(worst, fabs(want[1] - got[1]));
		}
	}
	print_message("default structure, 10000 cases: worst error %.4f\n", worst);
	assert_true(worst <= 0.03);
	bn_cases_free(&cases);
	bn_free(&truth);
	bn_free(&net);
}

static int read_csv_text(const char *text, struct bn_cases *c, char *err, size_t errlen)
{
	struct bn net;
	parse(&net, truth_text);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc = bn_cases_read_csv(&net, f, "cases.csv", c, err, errlen);
	fclose(f);
	bn_free(&net);
	return rc;
}

static void test_csv_cases(void **state)
{
	(void)state;
	struct bn_cases c;
	char err[256];
	const char *text = "# comment line\n"
			   "C, A ,B\n"
			   "c1,a2,b0\n"
			   "\"c0\",?,b1\n"
			   "c0,a0,\n";
	if (read_csv_text(text, &c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(c.n_cases, 3);
	/* nodes in network order A, B, C */
	assert_memory_equal(&c.state[0], ((signed char[]){ 2, 0, 1 }), 3);
	assert_memory_equal(&c.state[3], ((signed char[]){ -1, 1, 0 }), 3);
	assert_memory_equal(&c.state[6], ((signed char[]){ 0, -1, 0 }), 3);
	bn_cases_free(&c);

	/* A column the file leaves out is missing in every case. */
	assert_int_equal(read_csv_text("A,C\na1,c1\n", &c, err, sizeof(err)), 0);
	assert_memory_equal(&c.state[0], ((signed char[]){ 1, -1, 1 }), 3);
	bn_cases_free(&c);

	static const struct {
		const char *text, *message;
	} bad[] = {
		{ "A,B,C\na0,b0,c0\na0,b9,c0\n", "cases.csv:3: column 2: 'b9' is not a state of B" },
		{ "A,X\n", "cases.csv:1: column 2: 'X' is not a node of the network" },
		{ "A,B\na0\n", "cases.csv:2: 1 fields, the header has 2" },
		{ "A,B\na0,b0,c0\n", "cases.csv:2: column 3: more fields than the header has columns (2)" },
		{ "A,A\n", "cases.csv:1: column 2: node A has two columns" },
		{ "", "cases.csv: empty" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(read_csv_text(bad[i].text, &c, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].message))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].message);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_data_recovers_tables),
		cmocka_unit_test(test_em_with_missing_values_recovers_tables),
		cmocka_unit_test(test_few_cases_learn_sensibly),
		cmocka_unit_test(test_default_structure_recovered),
		cmocka_unit_test(test_csv_cases),
	};
	return cmocka_run_group_tests_name("sla_learn", tests, NULL, NULL);
}
