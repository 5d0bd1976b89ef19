/* One SLA evaluation: a VM's readings through its threshold rules (with
 * hysteresis) to evidence states, the evidence through the network to
 * P(violation), and the ranking of causes. Pure computation, no storage:
 * the live engine (sla_live.c), vigilctl and the benchmark share it. */
#ifndef VIGIL_SLA_EVAL_H
#define VIGIL_SLA_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "sla_config.h"
#include "sla_net.h"
#include "vigil.pb-c.h"

/* Levels of a threshold node; they are its state indices. */
enum { SLA_OK = 0, SLA_WARNING = 1, SLA_CRITICAL = 2 };

/* The network and what its nodes mean. */
struct sla_model {
	struct bn net;
	int target;    /* the SLA node */
	int violated;  /* its violation state */
	int host_node; /* -1 when the network has no such node */
	enum sla_combine combine[BN_MAX_NODES];
	char origin[256];
};

/* Checks that target, violated and host_node exist (host_node may be
 * absent from the network) and takes ownership of net. */
int sla_model_init(struct sla_model *m, struct bn *net, const char *origin, const struct sla_config *c, char *err,
		   size_t errlen);
void sla_model_free(struct sla_model *m);

enum sla_tag_match { SLA_TAGS_NONE, SLA_TAGS_ANY, SLA_TAGS_KEY, SLA_TAGS_EXACT };

/* A VM's rules, resolved against the model and indexed by metric name. */
struct sla_ruleset {
	int n;
	struct sla_rule rule[SLA_MAX_RULES];
	int node[SLA_MAX_RULES];
	enum sla_tag_match match[SLA_MAX_RULES];
	char tag_key[SLA_MAX_RULES][SLA_TAGS_MAX];
	char tag_value[SLA_MAX_RULES][SLA_TAGS_MAX];
	signed char next[SLA_MAX_RULES]; /* next rule with the same metric */
	signed char slot[64];            /* metric-name hash -> first rule */
};

/* -1 with err naming the rule (and its config line) when its node is not a
 * three-state node of the network. */
int sla_ruleset_compile(struct sla_ruleset *rs, const struct sla_model *m, const struct sla_rule *rules, int n,
			char *err, size_t errlen);

/* What set a node's state: the deciding rule, its (scaled) reading and the
 * threshold crossed (0 when OK). rule is -1 when nothing did. */
struct sla_driver {
	int rule;
	double value;
	double threshold;
	const Vigil__Sample *sample;
};

/* A rule's level for value, given its level so far (-1: none): rising
 * follows the thresholds at once; falling needs the value to retreat a
 * further hysteresis * |threshold| past the threshold it crossed. */
int sla_rule_level(const struct sla_rule *r, double value, int current, double hysteresis);

/* Reads one VM's samples: updates levels[] (per rule; the hysteresis
 * memory) and sets evidence[] for every threshold node (-1 unobserved;
 * other entries untouched). drivers (per node) may be NULL. */
void sla_eval_levels(const struct sla_model *m, const struct sla_ruleset *rs, double hysteresis,
		     const Vigil__VmSamples *vm, uint32_t interval_ms, signed char *levels, int *evidence,
		     struct sla_driver *drivers);

/* P(violation | evidence). 0, or -1 with err. */
int sla_p_violation(const struct sla_model *m, const int *evidence, double *p, char *err, size_t errlen);

struct sla_cause {
	int node;
	int state;
	double p_if_healthy; /* P(violation) with node at its first state */
};

/* Observed nodes not at their healthiest state, ranked by the P(violation)
 * left when each alone moves to its healthiest: best first. Returns the
 * count (at most BN_MAX_NODES). */
int sla_rank_causes(const struct sla_model *m, const int *evidence, struct sla_cause *out);

/* A VM's state as the live engine last evaluated it, for `vigilctl sla
 * explain` (collector/live fills it). */
struct sla_vm_view {
	const char *host, *name, *uuid;
	const int *evidence; /* per node */
	double p_violation;
	int64_t at_ms;
	int stale;
	struct {
		int rule; /* -1: no rule decided */
		const char *metric;
		const char *tags;
		double value, threshold;
	} driver[BN_MAX_NODES];
	int64_t open_alert_id; /* 0: none */
};

#endif
