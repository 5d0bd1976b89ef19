/* Learning the SLA network's tables from labelled cases: maximum a
 * posteriori estimates with a Dirichlet prior centred on the starting
 * model, and EM when values are missing. */
#ifndef VIGIL_SLA_LEARN_H
#define VIGIL_SLA_LEARN_H

#include <stddef.h>
#include <stdio.h>

#include "sla_net.h"

/* Cases over a network's nodes: one state index per node per case, -1
 * where the value is missing (a '?' or a column the file does not have). */
struct bn_cases {
	int n_nodes;
	int n_cases;
	int capacity;
	signed char *state; /* n_cases rows of n_nodes */
};

void bn_cases_init(struct bn_cases *c, const struct bn *net);
/* Appends one case (states[i] for node i, -1 missing). 0 or -1 (memory). */
int bn_cases_add(struct bn_cases *c, const int *states);
void bn_cases_free(struct bn_cases *c);

/* Reads a CSV file: a header naming nodes of net, then one case per line
 * with state names, '?' or an empty field for a missing value. Lines
 * starting with '#' are comments. Errors name ORIGIN:LINE and the column. */
int bn_cases_read_csv(const struct bn *net, FILE *f, const char *origin, struct bn_cases *c, char *err,
		      size_t errlen);

struct bn_learn_opts {
	/* Each row of the starting model acts as this many prior cases
	 * (Dirichlet hyperparameters weight * row, smoothed so none is 0). */
	double prior_weight;
	int max_iterations;
	double tolerance; /* stop when the log-likelihood gains less */
};

#define BN_LEARN_DEFAULTS { .prior_weight = 1.0, .max_iterations = 200, .tolerance = 1e-6 }

struct bn_learn_report {
	int iterations;        /* 1 when no value is missing: the estimate is closed-form */
	int converged;
	double log_likelihood; /* natural log of P(cases | learned tables) */
	double start_log_likelihood; /* the same under the starting tables */
	long missing;          /* missing values in the cases */
	int distinct;          /* distinct cases (identical ones are weighted) */
};

/* Replaces net's tables with ones learned from c, starting from (and with
 * a prior centred on) net's current tables. 0, or -1 with err. */
int bn_learn(struct bn *net, const struct bn_cases *c, const struct bn_learn_opts *o, struct bn_learn_report *r,
	     char *err, size_t errlen);

#endif
