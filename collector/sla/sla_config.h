/* The collector configuration's `sla { }` group: thresholds (global, per
 * host, per VM), which metrics feed which evidence node, the model, the
 * alert rule and the action hook. Every setting has a default, so a
 * collector without a config file runs the checks as documented in
 * collector/vigil-collector.conf. */
#ifndef VIGIL_SLA_CONFIG_H
#define VIGIL_SLA_CONFIG_H

#include <libconfig.h>
#include <stddef.h>

#include "sla_net.h"

#define SLA_MAX_RULES     32
#define SLA_METRIC_MAX    65
#define SLA_TAGS_MAX      64
#define SLA_TEXT_MAX      1024

/* What a rule concludes when the VM's batch has no reading of its metric. */
enum sla_absent { SLA_ABSENT_UNKNOWN, SLA_ABSENT_OK };

/* How a node combines the levels of its metrics. */
enum sla_combine { SLA_COMBINE_WORST, SLA_COMBINE_BEST, SLA_COMBINE_MEAN };

/* One threshold rule: a metric (its series chosen by tags) sets the level
 * OK / WARNING / CRITICAL of an evidence node. critical < warning means
 * lower values are worse (free memory, say). */
struct sla_rule {
	char node[BN_NAME_MAX];
	char metric[SLA_METRIC_MAX];
	/* "" untagged series only; "*" every series; "KEY=*" series with that
	 * tag; "KEY=VALUE" that series. The worst matching reading counts. */
	char tags[SLA_TAGS_MAX];
	double warning;
	double critical;
	int per_vcpu;   /* divide by the VM's vCPUs first */
	int per_second; /* divide by the interval in seconds first */
	enum sla_absent absent;
	int enabled;
	int line;       /* in the config file; 0 for built-in defaults */
	unsigned given; /* SLA_GIVEN_*: what an override entry sets */
};

enum {
	SLA_GIVEN_NODE = 1,
	SLA_GIVEN_WARNING = 2,
	SLA_GIVEN_CRITICAL = 4,
	SLA_GIVEN_PER_VCPU = 8,
	SLA_GIVEN_PER_SECOND = 16,
	SLA_GIVEN_ABSENT = 32,
	SLA_GIVEN_ENABLED = 64,
};

/* Rules that replace or extend the global ones for one host or VM. */
struct sla_override {
	char *name; /* host name; VM name or UUID */
	struct sla_rule *rules;
	int n_rules;
};

struct sla_config {
	int enabled;
	char model[SLA_TEXT_MAX];   /* "" = the built-in default network */
	char target[BN_NAME_MAX];   /* the SLA node */
	char violated[BN_NAME_MAX]; /* its state that is a violation */
	char host_node[BN_NAME_MAX];
	int tick_ms;                /* 0: evaluate every batch */
	double hysteresis;          /* fraction of a threshold */
	double alert_level, clear_level;
	int alert_after, clear_after;
	int stale_intervals;
	int forget_after_s;
	char slo[SLA_TEXT_MAX];
	char hook[SLA_TEXT_MAX];    /* "" = no action hook */
	int hook_timeout_s;
	struct {
		char node[BN_NAME_MAX];
		enum sla_combine how;
	} combine[BN_MAX_NODES];
	int n_combine;
	struct sla_rule rules[SLA_MAX_RULES];
	int n_rules;
	struct sla_override *hosts, *vms;
	int n_hosts, n_vms;
};

/* The built-in defaults (the values the reference config file shows). */
void sla_config_defaults(struct sla_config *c);

/* Fills c from the "sla" group of cfg, on top of the defaults; the group
 * may be absent. -1 with "line N: what" in err on an invalid or unknown
 * setting. sla_config_free() in both cases. */
int sla_config_read(const config_t *cfg, struct sla_config *c, char *err, size_t errlen);
void sla_config_free(struct sla_config *c);

/* The rules that apply to a VM of a host: the global ones, with the host's
 * then the VM's overrides applied. out holds SLA_MAX_RULES. Returns the
 * count. */
int sla_config_rules_for(const struct sla_config *c, const char *host, const char *vm_name, const char *vm_uuid,
			 struct sla_rule *out);

enum sla_combine sla_config_combine(const struct sla_config *c, const char *node);

#endif
