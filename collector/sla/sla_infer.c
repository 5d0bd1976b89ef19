/* Exact inference by enumeration. Only the ancestral set of the query and
 * the observed nodes matters: every other node is barren, and summing a
 * barren node out of the joint gives 1, so it is left out. What remains is
 * enumerated over its unobserved nodes. For the SLA network with its
 * evidence observed that is just the target's own states. */
#include <stdio.h>
#include <string.h>

#include "sla_net.h"

/* Enumerations beyond this many joint assignments are refused rather than
 * stalling the caller; a network that needs more wants a different
 * structure. */
#define BN_MAX_ENUMERATION 20000000L

struct relevant_set {
	int nodes[BN_MAX_NODES]; /* topological order */
	int n;
	int free_nodes[BN_MAX_NODES]; /* unobserved, not the query */
	int n_free;
};

static void relevant_nodes(const struct bn *net, const int *evidence, int query, struct relevant_set *rs)
{
	unsigned char mark[BN_MAX_NODES] = { 0 };
	mark[query] = 1;
	for (int i = 0; i < net->n_nodes; i++)
		if (evidence[i] >= 0)
			mark[i] = 1;
	/* Children come after parents in topo, so one backward pass closes
	 * the set under "parent of". */
	for (int k = net->n_nodes - 1; k >= 0; k--) {
		int i = net->topo[k];
		if (mark[i])
			for (int p = 0; p < net->node[i].n_parents; p++)
				mark[net->node[i].parents[p]] = 1;
	}
	rs->n = rs->n_free = 0;
	for (int k = 0; k < net->n_nodes; k++) {
		int i = net->topo[k];
		if (!mark[i])
			continue;
		rs->nodes[rs->n++] = i;
		if (i != query && evidence[i] < 0)
			rs->free_nodes[rs->n_free++] = i;
	}
}

static double joint(const struct bn *net, const struct relevant_set *rs, const int *assign)
{
	double p = 1.0;
	for (int k = 0; k < rs->n; k++) {
		const struct bn_node *n = &net->node[rs->nodes[k]];
		p *= n->cpt[bn_config(n, assign) * n->n_states + assign[rs->nodes[k]]];
	}
	return p;
}

/* Sum of the joint over every assignment of the free nodes. */
static double sum_free(const struct bn *net, const struct relevant_set *rs, int *assign)
{
	for (int f = 0; f < rs->n_free; f++)
		assign[rs->free_nodes[f]] = 0;
	double total = 0;
	for (;;) {
		total += joint(net, rs, assign);
		int f = rs->n_free - 1;
		for (; f >= 0; f--) {
			int i = rs->free_nodes[f];
			if (++assign[i] < net->node[i].n_states)
				break;
			assign[i] = 0;
		}
		if (f < 0)
			return total;
	}
}

int bn_posterior(const struct bn *net, const int *evidence, int query, double *post, char *err, size_t errlen)
{
	const struct bn_node *q = &net->node[query];
	if (evidence[query] >= 0) {
		for (int s = 0; s < q->n_states; s++)
			post[s] = s == evidence[query];
		return 0;
	}
	struct relevant_set rs;
	relevant_nodes(net, evidence, query, &rs);
	long combos = q->n_states;
	for (int f = 0; f < rs.n_free; f++) {
		combos *= net->node[rs.free_nodes[f]].n_states;
		if (combos > BN_MAX_ENUMERATION) {
			snprintf(err, errlen, "exact inference for %s would enumerate more than %ld assignments; "
				 "observe more nodes or simplify the network", q->name, BN_MAX_ENUMERATION);
			return -1;
		}
	}
	int assign[BN_MAX_NODES];
	memcpy(assign, evidence, sizeof(int) * (size_t)net->n_nodes);
	double total = 0;
	for (int s = 0; s < q->n_states; s++) {
		assign[query] = s;
		post[s] = sum_free(net, &rs, assign);
		total += post[s];
	}
	if (!(total > 0)) {
		snprintf(err, errlen, "the evidence has probability zero under the network");
		return -1;
	}
	for (int s = 0; s < q->n_states; s++)
		post[s] /= total;
	return 0;
}
