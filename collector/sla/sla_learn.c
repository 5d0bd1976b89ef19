#include "sla_learn.h"

#include <csv.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A case whose missing values span more joint assignments than this is
 * refused: EM enumerates them for every case at every iteration. */
#define BN_MAX_CASE_ENUMERATION 1000000L

/* Share of the uniform distribution mixed into each prior row, so a prior
 * probability of exactly 0 cannot make a learned one 0 too. */
#define BN_PRIOR_SMOOTHING 0.01

void bn_cases_init(struct bn_cases *c, const struct bn *net)
{
	memset(c, 0, sizeof(*c));
	c->n_nodes = net->n_nodes;
}

int bn_cases_add(struct bn_cases *c, const int *states)
{
	if (c->n_cases == c->capacity) {
		int cap = c->capacity ? c->capacity * 2 : 256;
		signed char *grown = realloc(c->state, (size_t)cap * (size_t)c->n_nodes);
		if (!grown)
			return -1;
		c->state = grown;
		c->capacity = cap;
	}
	signed char *row = &c->state[(size_t)c->n_cases * (size_t)c->n_nodes];
	for (int i = 0; i < c->n_nodes; i++)
		row[i] = (signed char)states[i];
	c->n_cases++;
	return 0;
}

void bn_cases_free(struct bn_cases *c)
{
	free(c->state);
	memset(c, 0, sizeof(*c));
}

/* ---- CSV ---------------------------------------------------------------- */

struct csv_reader {
	const struct bn *net;
	struct bn_cases *cases;
	const char *origin;
	int line;          /* the line being fed */
	int header_done;
	int n_columns;
	int column_node[BN_MAX_NODES]; /* header: node index of each column */
	int field;         /* fields seen in the current record */
	int row[BN_MAX_NODES];
	int failed;
	char *err;
	size_t errlen;
};

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	size_t lead = strspn(s, " \t");
	memmove(s, s + lead, n - lead + 1);
}

static void csv_fail(struct csv_reader *r, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void csv_fail(struct csv_reader *r, int col, const char *fmt, ...)
{
	if (r->failed)
		return;
	char what[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (col > 0)
		snprintf(r->err, r->errlen, "%s:%d: column %d: %s", r->origin, r->line, col, what);
	else
		snprintf(r->err, r->errlen, "%s:%d: %s", r->origin, r->line, what);
	r->failed = 1;
}

static void header_field(struct csv_reader *r, char *name)
{
	int col = r->field + 1;
	if (r->field >= BN_MAX_NODES) {
		csv_fail(r, col, "more columns than the network has nodes");
		return;
	}
	int node = bn_find_node(r->net, name);
	if (node < 0) {
		csv_fail(r, col, "'%s' is not a node of the network", name);
		return;
	}
	for (int i = 0; i < r->field; i++)
		if (r->column_node[i] == node)
			csv_fail(r, col, "node %s has two columns", name);
	r->column_node[r->field] = node;
}

static void case_field(struct csv_reader *r, char *value)
{
	int col = r->field + 1;
	if (r->field >= r->n_columns) {
		csv_fail(r, col, "more fields than the header has columns (%d)", r->n_columns);
		return;
	}
	const struct bn_node *n = &r->net->node[r->column_node[r->field]];
	if (value[0] == '\0' || strcmp(value, "?") == 0) {
		r->row[r->column_node[r->field]] = -1;
		return;
	}
	int s = bn_find_state(n, value);
	if (s < 0)
		csv_fail(r, col, "'%s' is not a state of %s", value, n->name);
	r->row[r->column_node[r->field]] = s;
}

static void on_field(void *data, size_t len, void *arg)
{
	struct csv_reader *r = arg;
	char value[128];
	snprintf(value, sizeof(value), "%.*s", (int)(len < sizeof(value) ? len : sizeof(value) - 1),
		 data ? (const char *)data : "");
	trim(value);
	if (r->header_done)
		case_field(r, value);
	else
		header_field(r, value);
	r->field++;
}

static void on_record(int terminator, void *arg)
{
	(void)terminator;
	struct csv_reader *r = arg;
	if (r->failed)
		return;
	if (!r->header_done) {
		r->n_columns = r->field;
		r->header_done = 1;
	} else if (r->field != r->n_columns) {
		csv_fail(r, 0, "%d fields, the header has %d", r->field, r->n_columns);
	} else if (bn_cases_add(r->cases, r->row) < 0) {
		csv_fail(r, 0, "out of memory");
	}
	r->field = 0;
	for (int i = 0; i < BN_MAX_NODES; i++)
		r->row[i] = -1;
}

int bn_cases_read_csv(const struct bn *net, FILE *f, const char *origin, struct bn_cases *c, char *err,
		      size_t errlen)
{
	struct csv_parser p;
	struct csv_reader r = { .net = net, .cases = c, .origin = origin, .err = err, .errlen = errlen };
	for (int i = 0; i < BN_MAX_NODES; i++)
		r.row[i] = -1;
	bn_cases_init(c, net);
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		snprintf(err, errlen, "%s: out of memory", origin);
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	/* Fed a line at a time so messages can name the line. */
	while (!r.failed && (len = getline(&line, &cap, f)) >= 0) {
		r.line++;
		if (line[0] == '#')
			continue;
		if (csv_parse(&p, line, (size_t)len, on_field, on_record, &r) != (size_t)len && !r.failed) {
			snprintf(err, errlen, "%s:%d: %s", origin, r.line, csv_strerror(csv_error(&p)));
			r.failed = 1;
		}
	}
	if (!r.failed && csv_fini(&p, on_field, on_record, &r) != 0 && !r.failed) {
		snprintf(err, errlen, "%s:%d: %s", origin, r.line, csv_strerror(csv_error(&p)));
		r.failed = 1;
	}
	csv_free(&p);
	free(line);
	if (!r.failed && !r.header_done) {
		snprintf(err, errlen, "%s: empty; want a header naming nodes, then one case per line", origin);
		r.failed = 1;
	}
	if (r.failed) {
		bn_cases_free(c);
		return -1;
	}
	return 0;
}

/* ---- EM ----------------------------------------------------------------- */

/* Identical cases are processed once, weighted by their count. */
struct pattern {
	const signed char *state;
	double weight;
};

/* Orders case rows bytewise; arg points to the row length (the node count). */
static int row_cmp(const void *a, const void *b, void *arg)
{
	return memcmp(*(const signed char *const *)a, *(const signed char *const *)b, *(const size_t *)arg);
}

static struct pattern *distinct_cases(const struct bn_cases *c, int *n_out)
{
	const signed char **rows = malloc(sizeof(*rows) * (size_t)(c->n_cases ? c->n_cases : 1));
	struct pattern *pat = malloc(sizeof(*pat) * (size_t)(c->n_cases ? c->n_cases : 1));
	if (!rows || !pat) {
		free(rows);
		free(pat);
		return NULL;
	}
	for (int i = 0; i < c->n_cases; i++)
		rows[i] = &c->state[(size_t)i * (size_t)c->n_nodes];
	size_t row_len = (size_t)c->n_nodes;
	qsort_r(rows, (size_t)c->n_cases, sizeof(*rows), row_cmp, &row_len);
	int n = 0;
	for (int i = 0; i < c->n_cases; i++) {
		if (n && memcmp(pat[n - 1].state, rows[i], (size_t)c->n_nodes) == 0) {
			pat[n - 1].weight += 1;
		} else {
			pat[n].state = rows[i];
			pat[n].weight = 1;
			n++;
		}
	}
	free(rows);
	*n_out = n;
	return pat;
}

struct em {
	struct bn *net;
	double *prior[BN_MAX_NODES];  /* Dirichlet hyperparameters, per cell */
	double *counts[BN_MAX_NODES]; /* expected counts of the current E-step */
	struct pattern *pat;
	int n_pat;
};

static size_t cells(const struct bn_node *n)
{
	return (size_t)n->n_configs * (size_t)n->n_states;
}

static double joint_all(const struct bn *net, const int *assign)
{
	double p = 1;
	for (int i = 0; i < net->n_nodes; i++) {
		const struct bn_node *n = &net->node[i];
		p *= n->cpt[bn_config(n, assign) * n->n_states + assign[i]];
	}
	return p;
}

/* Adds weight * P(assignment | case) to the counts of every family, for
 * every completion of one case. Returns the log of P(case), or -INFINITY
 * when the current tables give the case probability zero. */
static double expect_case(struct em *em, const struct pattern *pt, int add)
{
	const struct bn *net = em->net;
	int assign[BN_MAX_NODES], missing[BN_MAX_NODES], n_missing = 0;
	for (int i = 0; i < net->n_nodes; i++) {
		assign[i] = pt->state[i] < 0 ? 0 : pt->state[i];
		if (pt->state[i] < 0)
			missing[n_missing++] = i;
	}
	/* Two passes over the completions: the total first, then shares. */
	double total = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (int m = 0; m < n_missing; m++)
			assign[missing[m]] = 0;
		for (;;) {
			double p = joint_all(net, assign);
			if (pass == 0) {
				total += p;
			} else if (p > 0) {
				double share = pt->weight * p / total;
				for (int i = 0; i < net->n_nodes; i++) {
					const struct bn_node *n = &net->node[i];
					em->counts[i][bn_config(n, assign) * n->n_states + assign[i]] += share;
				}
			}
			int m = n_missing - 1;
			for (; m >= 0; m--) {
				if (++assign[missing[m]] < net->node[missing[m]].n_states)
					break;
				assign[missing[m]] = 0;
			}
			if (m < 0)
				break;
		}
		if (!add || !(total > 0))
			break;
	}
	return total > 0 ? log(total) : -INFINITY;
}

/* One E-step; returns the log-likelihood of the cases under the current
 * tables, counting impossible cases in *impossible. */
static double e_step(struct em *em, int add, int *impossible)
{
	*impossible = 0;
	if (add)
		for (int i = 0; i < em->net->n_nodes; i++)
			memset(em->counts[i], 0, cells(&em->net->node[i]) * sizeof(double));
	double ll = 0;
	for (int k = 0; k < em->n_pat; k++) {
		double l = expect_case(em, &em->pat[k], add);
		if (isinf(l))
			(*impossible)++;
		else
			ll += em->pat[k].weight * l;
	}
	return ll;
}

static void m_step(struct em *em)
{
	for (int i = 0; i < em->net->n_nodes; i++) {
		struct bn_node *n = &em->net->node[i];
		for (int c = 0; c < n->n_configs; c++) {
			double *row = &n->cpt[c * n->n_states];
			const double *cnt = &em->counts[i][c * n->n_states], *pri = &em->prior[i][c * n->n_states];
			double sum = 0;
			for (int s = 0; s < n->n_states; s++)
				sum += cnt[s] + pri[s];
			if (!(sum > 0))
				continue; /* no data and no prior: keep the row */
			for (int s = 0; s < n->n_states; s++)
				row[s] = (cnt[s] + pri[s]) / sum;
		}
	}
}

static int em_setup(struct em *em, struct bn *net, const struct bn_cases *c, double weight, char *err,
		    size_t errlen)
{
	memset(em, 0, sizeof(*em));
	em->net = net;
	for (int i = 0; i < net->n_nodes; i++) {
		const struct bn_node *n = &net->node[i];
		em->prior[i] = malloc(cells(n) * sizeof(double));
		em->counts[i] = calloc(cells(n), sizeof(double));
		if (!em->prior[i] || !em->counts[i])
			goto oom;
		for (size_t k = 0; k < cells(n); k++)
			em->prior[i][k] = weight * ((1 - BN_PRIOR_SMOOTHING) * n->cpt[k] +
						    BN_PRIOR_SMOOTHING / n->n_states);
	}
	em->pat = distinct_cases(c, &em->n_pat);
	if (!em->pat)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static void em_free(struct em *em)
{
	for (int i = 0; i < BN_MAX_NODES; i++) {
		free(em->prior[i]);
		free(em->counts[i]);
	}
	free(em->pat);
}

static int check_cases(const struct bn *net, const struct bn_cases *c, long *missing, char *err, size_t errlen)
{
	*missing = 0;
	if (c->n_nodes != net->n_nodes) {
		snprintf(err, errlen, "the cases were read for another network");
		return -1;
	}
	if (c->n_cases == 0) {
		snprintf(err, errlen, "no cases to learn from");
		return -1;
	}
	for (int k = 0; k < c->n_cases; k++) {
		long combos = 1;
		for (int i = 0; i < c->n_nodes; i++) {
			if (c->state[(size_t)k * (size_t)c->n_nodes + (size_t)i] >= 0)
				continue;
			(*missing)++;
			combos *= net->node[i].n_states;
			if (combos > BN_MAX_CASE_ENUMERATION) {
				snprintf(err, errlen, "case %d has too many missing values to enumerate", k + 1);
				return -1;
			}
		}
	}
	return 0;
}

int bn_learn(struct bn *net, const struct bn_cases *c, const struct bn_learn_opts *o, struct bn_learn_report *r,
	     char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	struct em em;
	if (check_cases(net, c, &r->missing, err, errlen) < 0 || em_setup(&em, net, c, o->prior_weight, err, errlen) < 0)
		return -1;
	r->distinct = em.n_pat;
	int impossible = 0;
	double previous = -INFINITY;
	while (r->iterations < o->max_iterations) {
		double ll = e_step(&em, 1, &impossible);
		if (r->iterations == 0)
			r->start_log_likelihood = impossible ? -INFINITY : ll;
		m_step(&em);
		r->iterations++;
		/* Complete data: the estimate is closed-form, one step is all. */
		if (r->missing == 0 || (!impossible && fabs(ll - previous) <= o->tolerance * (1 + fabs(ll)))) {
			r->converged = 1;
			break;
		}
		previous = impossible ? -INFINITY : ll;
	}
	r->log_likelihood = e_step(&em, 0, &impossible);
	em_free(&em);
	if (impossible) {
		snprintf(err, errlen, "%d distinct cases have probability zero under the learned tables "
			 "(a prior weight above 0 avoids this)", impossible);
		return -1;
	}
	return 0;
}
