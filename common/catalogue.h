/* The metric catalogue of schema/metrics.tsv, embedded at build time. */
#ifndef VIGIL_CATALOGUE_H
#define VIGIL_CATALOGUE_H

struct metric_def {
	const char *name;
	const char *unit;
	const char *layer;        /* cpu, memory, disk, network, host, sla */
	const char *kind;         /* gauge, counter, state */
	const char *tags;         /* the tag sets it comes with; "-": untagged */
	const char *description;
};

extern const struct metric_def vigil_catalogue[];
extern const unsigned vigil_catalogue_count;

/* The entry of a metric name, or NULL. */
const struct metric_def *catalogue_find(const char *name);

#endif
