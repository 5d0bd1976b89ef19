/* The SLA network: the text format (with its error messages) and exact
 * inference, checked against posteriors worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "sla_net.h"

#define assert_near(got, want, eps)                                                                   \
	do {                                                                                          \
		double got_ = (got), want_ = (want);                                                  \
		if (!(fabs(got_ - want_) <= (eps)))                                                   \
			fail_msg("%s = %.12g, want %.12g (within %g)", #got, got_, want_, (double)(eps)); \
	} while (0)

/* The textbook sprinkler network.
 *   RAIN:      P(yes) = 0.2
 *   SPRINKLER: P(on | RAIN=no) = 0.4, P(on | RAIN=yes) = 0.01
 *   GRASS:     P(wet | SPRINKLER, RAIN): (off,no) 0, (off,yes) 0.8,
 *              (on,no) 0.9, (on,yes) 0.99 -- written with a default and a
 *              wildcard row so those rules are exercised too.
 *   SLIPPERY:  a child of GRASS, never observed below: barren.
 *
 * By hand, the joint with GRASS=wet:
 *   RAIN=no  (0.8): off 0.6 * 0    = 0
 *                   on  0.4 * 0.9  -> 0.8 * 0.4 * 0.9   = 0.288
 *   RAIN=yes (0.2): off 0.99 * 0.8 -> 0.2 * 0.99 * 0.8  = 0.1584
 *                   on  0.01 * 0.99 -> 0.2 * 0.01 * 0.99 = 0.00198
 *   P(wet) = 0.288 + 0.1584 + 0.00198 = 0.44838
 *   P(RAIN=yes | wet)     = (0.1584 + 0.00198) / 0.44838 = 0.16038 / 0.44838
 *   P(SPRINKLER=on | wet) = (0.288 + 0.00198) / 0.44838  = 0.28998 / 0.44838
 * With SPRINKLER=on observed too:
 *   P(RAIN=yes | wet, on) = 0.00198 / (0.288 + 0.00198) = 0.00198 / 0.28998
 */
static const char sprinkler[] =
	"network sprinkler { property made_by = hand; }\n"
	"variable RAIN { type discrete [ 2 ] { no, yes }; }\n"
	"variable SPRINKLER { type discrete [ 2 ] { off, on }; }\n"
	"variable GRASS { type discrete [ 2 ] { dry, wet }; }\n"
	"variable SLIPPERY { type discrete [ 2 ] { no, yes }; }\n"
	"probability ( RAIN ) { table 0.8, 0.2; }\n"
	"probability ( SPRINKLER | RAIN ) {\n"
	"  (no) 0.6, 0.4;\n"
	"  (yes) 0.99, 0.01;\n"
	"}\n"
	"probability ( GRASS | SPRINKLER, RAIN ) {\n"
	"  default 1.0, 0.0;          # (off, no)\n"
	"  (on, *) 0.1, 0.9;\n"
	"  (on, yes) 0.01, 0.99;      // a later row overrides\n"
	"  (off, yes) 0.2, 0.8;\n"
	"}\n"
	"/* a barren node */\n"
	"probability ( SLIPPERY | GRASS ) { (dry) 0.9, 0.1; (wet) 0.3, 0.7; }\n";

struct fixture {
	struct bn net;
	int ev[BN_MAX_NODES];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	if (bn_parse(&f->net, sprinkler, "sprinkler.net", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	for (int i = 0; i < BN_MAX_NODES; i++)
		f->ev[i] = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	bn_free(&f->net);
	free(f);
	return 0;
}

static int node(struct fixture *f, const char *name)
{
	int i = bn_find_node(&f->net, name);
	assert_true(i >= 0);
	return i;
}

static void observe(struct fixture *f, const char *name, const char *state)
{
	int i = node(f, name);
	f->ev[i] = bn_find_state(&f->net.node[i], state);
	assert_true(f->ev[i] >= 0);
}

static double posterior(struct fixture *f, const char *name, int state)
{
	double post[BN_MAX_STATES];
	char err[256];
	if (bn_posterior(&f->net, f->ev, node(f, name), post, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return post[state];
}

static void test_hand_computed_posteriors(void **state)
{
	struct fixture *f = *state;
	observe(f, "GRASS", "wet");
	assert_near(posterior(f, "RAIN", 1), 0.16038 / 0.44838, 1e-12);
	assert_near(posterior(f, "SPRINKLER", 1), 0.28998 / 0.44838, 1e-12);
	observe(f, "SPRINKLER", "on");
	assert_near(posterior(f, "RAIN", 1), 0.00198 / 0.28998, 1e-12);
}

static void test_missing_evidence_is_marginalised(void **state)
{
	struct fixture *f = *state;
	/* No evidence: the marginal, P(wet) = 0.44838 from the sum above. */
	assert_near(posterior(f, "GRASS", 1), 0.44838, 1e-12);
	/* P(SLIPPERY=yes) = 0.44838 * 0.7 + (1 - 0.44838) * 0.1 */
	assert_near(posterior(f, "SLIPPERY", 1), 0.44838 * 0.7 + 0.55162 * 0.1, 1e-12);
	/* An observed query is certain. */
	observe(f, "RAIN", "yes");
	assert_near(posterior(f, "RAIN", 1), 1.0, 0);
}

static void test_zero_probability_evidence_is_an_error(void **state)
{
	struct fixture *f = *state;
	observe(f, "GRASS", "wet");
	observe(f, "SPRINKLER", "off");
	observe(f, "RAIN", "no"); /* P(wet | off, no) = 0 */
	double post[2];
	char err[256] = "";
	assert_int_equal(bn_posterior(&f->net, f->ev, node(f, "SLIPPERY"), post, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "probability zero"));
}

static void test_written_network_reads_back_the_same(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	assert_int_equal(bn_write(&f->net, mem, "learned from nothing\nsecond line"), 0);
	fclose(mem);
	assert_non_null(strstr(text, "// learned from nothing\n// second line\n"));
	struct bn again;
	char err[256];
	if (bn_parse(&again, text, "written", err, sizeof(err)) < 0)
		fail_msg("%s\n%s", err, text);
	assert_int_equal(again.n_nodes, f->net.n_nodes);
	for (int i = 0; i < again.n_nodes; i++) {
		const struct bn_node *a = &again.node[i], *b = &f->net.node[i];
		assert_string_equal(a->name, b->name);
		assert_int_equal(a->n_configs, b->n_configs);
		for (int k = 0; k < a->n_configs * a->n_states; k++)
			assert_near(a->cpt[k], b->cpt[k], 1e-6);
	}
	bn_free(&again);
	free(text);
}

/* The shipped default: the design's structure, Table 11 as root tables, and
 * a noisy-OR for SLA whose marginal is the normalised printed SLA row. */
static void test_default_network(void **state)
{
	(void)state;
	struct bn net;
	char err[256];
	if (bn_parse(&net, bn_default_text, "default.net", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	int ev[BN_MAX_NODES];
	for (int i = 0; i < BN_MAX_NODES; i++)
		ev[i] = -1;
	int sla = bn_find_node(&net, "SLA"), host = bn_find_node(&net, "HOST");
	int mem = bn_find_node(&net, "MEMORY");
	assert_true(sla >= 0 && host >= 0 && mem >= 0);
	assert_int_equal(net.node[sla].n_parents, 5);
	assert_near(net.node[mem].cpt[1], 0.32, 1e-9);
	assert_near(net.node[host].cpt[1], 0.2, 1e-9);
	double post[2];
	assert_int_equal(bn_posterior(&net, ev, sla, post, err, sizeof(err)), 0);
	int v = bn_find_state(&net.node[sla], "VIOLATED");
	assert_near(post[v], 0.4311 / (0.4311 + 0.5890), 1e-5);
	/* With only HOST=DOWN known, by the noisy-OR: the four resource nodes
	 * contribute the factor K they contribute to the marginal,
	 * K = (1 - 0.42261) / (0.99 * (1 - 0.2 * 0.95)), so
	 * P(VIOLATED | DOWN) = 1 - 0.99 * 0.05 * K. */
	ev[host] = 1;
	assert_int_equal(bn_posterior(&net, ev, sla, post, err, sizeof(err)), 0);
	double k = (1 - 0.4311 / (0.4311 + 0.5890)) / (0.99 * 0.81);
	assert_near(post[v], 1 - 0.99 * 0.05 * k, 1e-5);
	bn_free(&net);
}

struct bad_case {
	const char *text;
	const char *message; /* expected in the error */
};

static void test_parse_errors_name_the_line(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{ "variable A { type discrete [ 2 ] { x, y }; }\n"
		  "probability ( A | B ) { (x) 0.5, 0.5; }\n",
		  "bad.net:2: A: parent B is not a declared variable" },
		{ "variable A { type discrete [ 2 ] { x, y }; }\n\n"
		  "probability ( A ) { table 0.5, 0.6; }\n",
		  "bad.net:3: A: probabilities sum to 1.1, not 1" },
		{ "variable A { type discrete [ 2 ] { x, y }; }\n"
		  "variable B { type discrete [ 2 ] { x, y }; }\n"
		  "probability ( A ) { table 0.5, 0.5; }\n"
		  "probability ( B | A ) {\n (x) 0.5, 0.5;\n}\n",
		  "bad.net:6: probability of B: nothing given for (y)" },
		{ "variable A { type discrete [ 2 ] { x, y }; }\n"
		  "variable B { type discrete [ 2 ] { x, y }; }\n"
		  "probability ( A | B ) { (*) 0.5, 0.5; }\n"
		  "probability ( B | A ) { (*) 0.5, 0.5; }\n",
		  "bad.net:1: the network has a cycle through A" },
		{ "variable A { type discrete [ 2 ] { x, y }; }\nvariable A { type discrete [ 2 ] { x, y }; }\n",
		  "bad.net:2: variable A is declared twice" },
		{ "variable A { type discrete [ 3 ] { x, y }; }\n", "bad.net:1: variable A: 2 states listed, 3 declared" },
		{ "variable A { type discrete [ 2 ] { x, y }; }\n"
		  "variable B { type discrete [ 2 ] { x, y }; }\n"
		  "probability ( A ) { table 0.5, 0.5; }\n"
		  "probability ( B | A ) { (z) 0.5, 0.5; }\n",
		  "bad.net:4: B: 'z' is not a state of A" },
		{ "variable A { type discrete [ 2 ] { x, y }; }\n", "bad.net:1: variable A has no probability block" },
		{ "variable A { type discrete [ 2 ] { x, y }; }\nprobability ( A ) { table 0.5, 0.5; } $\n",
		  "bad.net:2: unexpected character '$'" },
		{ "variable A { type discrete [ 2 ] { x, y }; }\nprobability ( A ) { table 0.5, 0.5, 0; }\n",
		  "bad.net:2: A: expected ';' after 2 probabilities" },
		{ "variable A { type discrete [ 2 ] { x, y }; }\nprobability ( A ) { table 1.5, -0.5; }\n",
		  "bad.net:2: A: probability 1.5 is outside [0, 1]" },
		{ "", "bad.net:1: no variables" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bn net;
		char err[512] = "";
		assert_int_equal(bn_parse(&net, cases[i].text, "bad.net", err, sizeof(err)), -1);
		if (!strstr(err, cases[i].message))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].message);
		assert_int_equal(net.n_nodes, 0);
	}
}

static void test_load_file_errors(void **state)
{
	(void)state;
	struct bn net;
	char err[512];
	assert_int_equal(bn_load_file(&net, "/nonexistent/x.net", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x.net: cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hand_computed_posteriors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_evidence_is_marginalised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_probability_evidence_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_written_network_reads_back_the_same, setup, teardown),
		cmocka_unit_test(test_default_network),
		cmocka_unit_test(test_parse_errors_name_the_line),
		cmocka_unit_test(test_load_file_errors),
	};
	return cmocka_run_group_tests_name("sla_net", tests, NULL, NULL);
}
