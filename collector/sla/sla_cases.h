/* Training cases from stored history (`vigilctl sla train --from-history`):
 * each VM's time is cut into slices (5 minutes by default, as in the
 * design); a slice's evidence is the worst state each sla.<node> row shows
 * in it, and its label comes from the SLO expression:
 *
 *   SLO  := TERM ( "||" TERM )*        TERM := COND ( "&&" COND )*
 *   COND := NODE "=" STATE             the node was in STATE in the slice
 *         | METRIC OP NUMBER           a reading of METRIC (any series) in
 *                                      the slice; OP is > >= < <=
 *
 * e.g. "HOST=DOWN || cpu.wait_pct > 50". A slice where the SLO holds is
 * labelled with the target's violation state, otherwise with its first
 * state. */
#ifndef VIGIL_SLA_CASES_H
#define VIGIL_SLA_CASES_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "history.h"
#include "sla_eval.h"
#include "sla_learn.h"

#define SLA_SLO_MAX_CONDS 16

struct sla_slo_cond {
	int is_metric;
	int node, state;           /* NODE=STATE */
	char metric[65];           /* METRIC OP NUMBER */
	int op;                    /* '>', 'G' (>=), '<', 'L' (<=) */
	double number;
	int term;                  /* which || term it belongs to */
};

struct sla_slo {
	struct sla_slo_cond cond[SLA_SLO_MAX_CONDS];
	int n, n_terms;
};

/* Parses text against the model's nodes. -1 with err naming the part. */
int sla_slo_parse(struct sla_slo *slo, const char *text, const struct sla_model *m, char *err, size_t errlen);

struct sla_history_opts {
	int64_t since_ms, until_ms;
	int64_t slice_ms;
	const char *vm; /* NULL: every VM */
};

struct sla_history_summary {
	int vms;
	int slices;   /* cases produced */
	int violated; /* of which labelled as violations */
};

/* Appends one case per VM and slice that has any SLA data to c
 * (bn_cases_init'ed for m->net). 0, or -1 with err. */
int sla_history_cases(const struct history_source *src, const struct sla_model *m, const struct sla_slo *slo,
		      const struct sla_history_opts *o, struct bn_cases *c, struct sla_history_summary *sum, char *err,
		      size_t errlen);

#endif
