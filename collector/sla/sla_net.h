/* The SLA Bayesian network: discrete nodes with named states, parents and
 * conditional probability tables, read from and written to the text format
 * documented in docs/sla.md (a subset of the Bayesian Interchange Format,
 * BIF, with wildcard rows). Inference is exact (enumeration over the
 * ancestral set of the query and the evidence). */
#ifndef VIGIL_SLA_NET_H
#define VIGIL_SLA_NET_H

#include <stddef.h>
#include <stdio.h>

#define BN_MAX_NODES    32
#define BN_MAX_STATES   8
#define BN_MAX_PARENTS  8
#define BN_NAME_MAX     32     /* node and state names, with the NUL */
#define BN_MAX_CONFIGS  65536  /* parent combinations of one node */

/* Rows of one node are addressed by a parent configuration: the mixed-radix
 * number of the parents' states, the first parent most significant (the
 * order rows are written in). */
struct bn_node {
	char name[BN_NAME_MAX];
	int n_states;
	char states[BN_MAX_STATES][BN_NAME_MAX];
	int n_parents;
	int parents[BN_MAX_PARENTS];
	int stride[BN_MAX_PARENTS];
	int n_configs;
	double *cpt; /* n_configs rows of n_states probabilities */
	int line;    /* where the variable was declared, for messages */
};

struct bn {
	int n_nodes;
	struct bn_node node[BN_MAX_NODES];
	int topo[BN_MAX_NODES]; /* node indices, every parent before its children */
};

/* Parses text (origin names it in messages: "FILE"). On error returns -1
 * with "ORIGIN:LINE: what" in err and leaves net empty. bn_free() after. */
int bn_parse(struct bn *net, const char *text, const char *origin, char *err, size_t errlen);
int bn_load_file(struct bn *net, const char *path, char *err, size_t errlen);

/* Writes net in the same format, every table in full; header lines (may be
 * NULL) become comments. Returns 0 or -1 on a write error. */
int bn_write(const struct bn *net, FILE *f, const char *header);

void bn_free(struct bn *net);
int bn_copy(struct bn *dst, const struct bn *src);

/* Index of a node or of a state, or -1. */
int bn_find_node(const struct bn *net, const char *name);
int bn_find_state(const struct bn_node *n, const char *state);

/* Row of node n for a full assignment (assign[i] = state of node i). */
static inline int bn_config(const struct bn_node *n, const int *assign)
{
	int c = 0;
	for (int p = 0; p < n->n_parents; p++)
		c += n->stride[p] * assign[n->parents[p]];
	return c;
}

/* P(query | evidence): evidence[i] is node i's observed state or -1
 * (unobserved: marginalised). Fills post[0 .. n_states(query) - 1].
 * Returns 0, or -1 when the evidence has probability zero under the
 * network or the enumeration would be too large (message in err). */
int bn_posterior(const struct bn *net, const int *evidence, int query, double *post, char *err, size_t errlen);

/* The embedded default network (schema/sla/default.net). */
extern const char bn_default_text[];
#define BN_DEFAULT_ORIGIN "built-in default (schema/sla/default.net)"

/* Loads path, or the embedded default when path is NULL or empty. */
int bn_load_model(struct bn *net, const char *path, char *err, size_t errlen);

#endif
