/* Reading and writing the SLA network's text format (docs/sla.md):
 *
 *   variable NAME { type discrete [ N ] { STATE, ... }; }
 *   probability ( NAME ) { table P, ...; }
 *   probability ( NAME | PARENT, ... ) { default P, ...; (S, *, ...) P, ...; }
 *
 * Rows of a table with parents may use '*' for "any state of this
 * parent"; default sets every row first, then rows apply in file order, a
 * later row overriding an earlier one. Every combination must end up set. */
#include "sla_net.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A row's probabilities may be off by this much (rounded figures in a
 * hand-written file); they are then scaled to sum to exactly 1. */
#define BN_SUM_TOLERANCE 1e-3

enum tok_kind { TOK_END, TOK_WORD, TOK_NUMBER, TOK_PUNCT };

struct lexer {
	const char *p;
	const char *origin;
	int line;
	/* the current token */
	enum tok_kind kind;
	char text[64];
	double number;
	int tok_line;
	char *err;
	size_t errlen;
};

static int bn_fail(struct lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bn_fail(struct lexer *lx, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(lx->err, lx->errlen, "%s:%d: %s", lx->origin, lx->tok_line, what);
	return -1;
}

static void skip_space_and_comments(struct lexer *lx)
{
	for (;;) {
		while (isspace((unsigned char)*lx->p)) {
			if (*lx->p == '\n')
				lx->line++;
			lx->p++;
		}
		if (*lx->p == '#' || (lx->p[0] == '/' && lx->p[1] == '/')) {
			while (*lx->p && *lx->p != '\n')
				lx->p++;
		} else if (lx->p[0] == '/' && lx->p[1] == '*') {
			lx->p += 2;
			while (*lx->p && !(lx->p[0] == '*' && lx->p[1] == '/')) {
				if (*lx->p == '\n')
					lx->line++;
				lx->p++;
			}
			if (*lx->p)
				lx->p += 2;
		} else {
			return;
		}
	}
}

static int is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Reads the next token into lx. -1 on a character the format never uses. */
static int next(struct lexer *lx)
{
	skip_space_and_comments(lx);
	lx->tok_line = lx->line;
	const char *s = lx->p;
	if (!*s) {
		lx->kind = TOK_END;
		snprintf(lx->text, sizeof(lx->text), "end of file");
		return 0;
	}
	if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1])) || *s == '-' || *s == '+') {
		char *end;
		errno = 0;
		lx->number = strtod(s, &end);
		if (end == s || errno)
			return bn_fail(lx, "'%.20s' is not a number", s);
		/* "1abc" is a malformed number, not a number then a word. */
		if (is_word_char(*end))
			return bn_fail(lx, "'%.*s' is not a number", (int)(end - s) + 1, s);
		snprintf(lx->text, sizeof(lx->text), "%.*s", (int)(end - s), s);
		lx->kind = TOK_NUMBER;
		lx->p = end;
		return 0;
	}
	if (is_word_char(*s)) {
		size_t n = 0;
		while (is_word_char(s[n]))
			n++;
		if (n >= BN_NAME_MAX)
			return bn_fail(lx, "name '%.40s...' is longer than %d characters", s, BN_NAME_MAX - 1);
		memcpy(lx->text, s, n);
		lx->text[n] = '\0';
		lx->kind = TOK_WORD;
		lx->p += n;
		return 0;
	}
	if (strchr("{}()[],;|*", *s)) {
		lx->text[0] = *s;
		lx->text[1] = '\0';
		lx->kind = TOK_PUNCT;
		lx->p++;
		return 0;
	}
	return bn_fail(lx, "unexpected character '%c'", *s);
}

static int is_punct(const struct lexer *lx, char c)
{
	return lx->kind == TOK_PUNCT && lx->text[0] == c;
}

static int is_word(const struct lexer *lx, const char *w)
{
	return lx->kind == TOK_WORD && strcmp(lx->text, w) == 0;
}

static int expect_punct(struct lexer *lx, char c)
{
	if (!is_punct(lx, c))
		return bn_fail(lx, "expected '%c', found '%s'", c, lx->text);
	return next(lx);
}

static int expect_word(struct lexer *lx, const char *w)
{
	if (!is_word(lx, w))
		return bn_fail(lx, "expected '%s', found '%s'", w, lx->text);
	return next(lx);
}

/* A node or state name: starts with a letter. Copies it and advances. */
static int take_name(struct lexer *lx, char *out, const char *what)
{
	if (lx->kind != TOK_WORD || !isalpha((unsigned char)lx->text[0]))
		return bn_fail(lx, "expected %s (a name starting with a letter), found '%s'", what, lx->text);
	/* next() keeps words shorter than BN_NAME_MAX */
	memcpy(out, lx->text, strlen(lx->text) + 1);
	return next(lx);
}

/* "property ... ;" lines carry free text other tools write; skipped raw,
 * since that text need not be made of this format's tokens. */
static int skip_property(struct lexer *lx)
{
	while (*lx->p && *lx->p != ';') {
		if (*lx->p == '\n')
			lx->line++;
		lx->p++;
	}
	if (!*lx->p)
		return bn_fail(lx, "property without a closing ';'");
	lx->p++;
	return next(lx);
}

int bn_find_node(const struct bn *net, const char *name)
{
	for (int i = 0; i < net->n_nodes; i++)
		if (strcmp(net->node[i].name, name) == 0)
			return i;
	return -1;
}

int bn_find_state(const struct bn_node *n, const char *state)
{
	for (int i = 0; i < n->n_states; i++)
		if (strcmp(n->states[i], state) == 0)
			return i;
	return -1;
}

static int parse_states(struct lexer *lx, struct bn_node *n)
{
	if (expect_word(lx, "type") < 0 || expect_word(lx, "discrete") < 0 || expect_punct(lx, '[') < 0)
		return -1;
	if (lx->kind != TOK_NUMBER || lx->number != floor(lx->number) || lx->number < 2 ||
	    lx->number > BN_MAX_STATES)
		return bn_fail(lx, "variable %s: want between 2 and %d states, found '%s'", n->name, BN_MAX_STATES,
			       lx->text);
	int declared = (int)lx->number;
	if (next(lx) < 0 || expect_punct(lx, ']') < 0 || expect_punct(lx, '{') < 0)
		return -1;
	for (;;) {
		char state[BN_NAME_MAX];
		if (take_name(lx, state, "a state name") < 0)
			return -1;
		if (bn_find_state(n, state) >= 0)
			return bn_fail(lx, "variable %s: state %s is listed twice", n->name, state);
		if (n->n_states == declared)
			return bn_fail(lx, "variable %s: more states than the %d declared", n->name, declared);
		snprintf(n->states[n->n_states++], BN_NAME_MAX, "%s", state);
		if (is_punct(lx, '}'))
			break;
		if (expect_punct(lx, ',') < 0)
			return -1;
	}
	if (n->n_states != declared)
		return bn_fail(lx, "variable %s: %d states listed, %d declared", n->name, n->n_states, declared);
	return next(lx) < 0 ? -1 : expect_punct(lx, ';');
}

static int parse_variable(struct lexer *lx, struct bn *net)
{
	if (net->n_nodes == BN_MAX_NODES)
		return bn_fail(lx, "more than %d variables", BN_MAX_NODES);
	struct bn_node *n = &net->node[net->n_nodes];
	memset(n, 0, sizeof(*n));
	n->line = lx->tok_line;
	if (take_name(lx, n->name, "a variable name") < 0)
		return -1;
	if (bn_find_node(net, n->name) >= 0)
		return bn_fail(lx, "variable %s is declared twice", n->name);
	if (expect_punct(lx, '{') < 0)
		return -1;
	int typed = 0;
	while (!is_punct(lx, '}')) {
		if (is_word(lx, "property")) {
			if (skip_property(lx) < 0)
				return -1;
		} else if (is_word(lx, "type") && !typed) {
			if (parse_states(lx, n) < 0)
				return -1;
			typed = 1;
		} else {
			return bn_fail(lx, "variable %s: expected 'type discrete [N] {...};', found '%s'", n->name,
				       lx->text);
		}
	}
	if (!typed)
		return bn_fail(lx, "variable %s has no 'type discrete' line", n->name);
	net->n_nodes++;
	return next(lx);
}

/* Reads "P, P, ...;" for node n into row (n_states values), checks the sum
 * and normalises. */
static int parse_probs(struct lexer *lx, const struct bn_node *n, double *row)
{
	double sum = 0;
	for (int s = 0; s < n->n_states; s++) {
		if (s > 0 && expect_punct(lx, ',') < 0)
			return -1;
		if (lx->kind != TOK_NUMBER)
			return bn_fail(lx, "%s: expected %d probabilities, found '%s'", n->name, n->n_states, lx->text);
		if (!(lx->number >= 0 && lx->number <= 1))
			return bn_fail(lx, "%s: probability %s is outside [0, 1]", n->name, lx->text);
		row[s] = lx->number;
		sum += lx->number;
		if (next(lx) < 0)
			return -1;
	}
	if (!is_punct(lx, ';'))
		return bn_fail(lx, "%s: expected ';' after %d probabilities (one per state), found '%s'", n->name,
			       n->n_states, lx->text);
	if (fabs(sum - 1.0) > BN_SUM_TOLERANCE)
		return bn_fail(lx, "%s: probabilities sum to %g, not 1", n->name, sum);
	for (int s = 0; s < n->n_states; s++)
		row[s] /= sum;
	return next(lx);
}

static void set_strides(struct bn_node *n, const struct bn *net)
{
	int stride = 1;
	for (int p = n->n_parents - 1; p >= 0; p--) {
		n->stride[p] = stride;
		stride *= net->node[n->parents[p]].n_states;
	}
	n->n_configs = stride;
}

static int parse_parents(struct lexer *lx, struct bn *net, struct bn_node *n)
{
	for (;;) {
		char name[BN_NAME_MAX];
		if (take_name(lx, name, "a parent variable") < 0)
			return -1;
		int p = bn_find_node(net, name);
		if (p < 0)
			return bn_fail(lx, "%s: parent %s is not a declared variable", n->name, name);
		if (&net->node[p] == n)
			return bn_fail(lx, "%s cannot be its own parent", n->name);
		for (int i = 0; i < n->n_parents; i++)
			if (n->parents[i] == p)
				return bn_fail(lx, "%s: parent %s is listed twice", n->name, name);
		if (n->n_parents == BN_MAX_PARENTS)
			return bn_fail(lx, "%s: more than %d parents", n->name, BN_MAX_PARENTS);
		n->parents[n->n_parents++] = p;
		if (is_punct(lx, ')'))
			return 0;
		if (expect_punct(lx, ',') < 0)
			return -1;
	}
}

/* One "(S, *, ...) P, ...;" row: sets every configuration it matches. */
static int parse_row(struct lexer *lx, const struct bn *net, struct bn_node *n, unsigned char *set)
{
	int want[BN_MAX_PARENTS];
	if (expect_punct(lx, '(') < 0)
		return -1;
	for (int p = 0; p < n->n_parents; p++) {
		if (p > 0 && expect_punct(lx, ',') < 0)
			return -1;
		const struct bn_node *parent = &net->node[n->parents[p]];
		if (is_punct(lx, '*')) {
			want[p] = -1;
		} else {
			if (lx->kind != TOK_WORD)
				return bn_fail(lx, "%s: expected a state of %s or '*', found '%s'", n->name,
					       parent->name, lx->text);
			want[p] = bn_find_state(parent, lx->text);
			if (want[p] < 0)
				return bn_fail(lx, "%s: '%s' is not a state of %s", n->name, lx->text, parent->name);
		}
		if (next(lx) < 0)
			return -1;
	}
	if (!is_punct(lx, ')'))
		return bn_fail(lx, "%s: a row names one state per parent (%d), found '%s'", n->name, n->n_parents,
			       lx->text);
	double row[BN_MAX_STATES];
	if (next(lx) < 0 || parse_probs(lx, n, row) < 0)
		return -1;
	for (int c = 0; c < n->n_configs; c++) {
		int match = 1;
		for (int p = 0; p < n->n_parents && match; p++)
			match = want[p] < 0 || (c / n->stride[p]) % net->node[n->parents[p]].n_states == want[p];
		if (match) {
			memcpy(&n->cpt[c * n->n_states], row, sizeof(double) * (size_t)n->n_states);
			set[c] = 1;
		}
	}
	return 0;
}

/* "(A, B, C)" naming the first configuration left unset. */
static void describe_config(const struct bn *net, const struct bn_node *n, int c, char *out, size_t len)
{
	size_t used = (size_t)snprintf(out, len, "(");
	for (int p = 0; p < n->n_parents && used < len; p++) {
		const struct bn_node *parent = &net->node[n->parents[p]];
		used += (size_t)snprintf(out + used, len - used, "%s%s", p ? ", " : "",
					 parent->states[(c / n->stride[p]) % parent->n_states]);
	}
	if (used < len)
		snprintf(out + used, len - used, ")");
}

static int parse_table_body(struct lexer *lx, const struct bn *net, struct bn_node *n, unsigned char *set)
{
	double deflt[BN_MAX_STATES];
	int have_default = 0;
	while (!is_punct(lx, '}')) {
		if (is_word(lx, "property")) {
			if (skip_property(lx) < 0)
				return -1;
		} else if (is_word(lx, "table")) {
			if (n->n_parents > 0)
				return bn_fail(lx, "%s has parents: give one row per parent combination, "
					       "'(S, ...) P, ...;', instead of 'table'", n->name);
			if (next(lx) < 0 || parse_probs(lx, n, n->cpt) < 0)
				return -1;
			set[0] = 1;
		} else if (is_word(lx, "default")) {
			if (next(lx) < 0 || parse_probs(lx, n, deflt) < 0)
				return -1;
			have_default = 1;
		} else if (is_punct(lx, '(') && n->n_parents > 0) {
			if (parse_row(lx, net, n, set) < 0)
				return -1;
		} else {
			return bn_fail(lx, "probability of %s: expected 'table', 'default' or a row, found '%s'",
				       n->name, lx->text);
		}
	}
	for (int c = 0; c < n->n_configs; c++) {
		if (set[c])
			continue;
		if (have_default) {
			memcpy(&n->cpt[c * n->n_states], deflt, sizeof(double) * (size_t)n->n_states);
			continue;
		}
		char cfg[256];
		describe_config(net, n, c, cfg, sizeof(cfg));
		return bn_fail(lx, "probability of %s: nothing given for %s; add a row, a '*' row or a default",
			       n->name, n->n_parents ? cfg : "its states");
	}
	return next(lx);
}

static int parse_probability(struct lexer *lx, struct bn *net)
{
	char name[BN_NAME_MAX];
	if (expect_punct(lx, '(') < 0 || take_name(lx, name, "a variable name") < 0)
		return -1;
	int idx = bn_find_node(net, name);
	if (idx < 0)
		return bn_fail(lx, "probability of %s, which is not a declared variable", name);
	struct bn_node *n = &net->node[idx];
	if (n->cpt)
		return bn_fail(lx, "%s has two probability blocks", name);
	if (is_punct(lx, '|')) {
		if (next(lx) < 0 || parse_parents(lx, net, n) < 0)
			return -1;
	}
	if (expect_punct(lx, ')') < 0 || expect_punct(lx, '{') < 0)
		return -1;
	set_strides(n, net);
	if (n->n_configs > BN_MAX_CONFIGS)
		return bn_fail(lx, "%s: %d parent combinations (limit %d)", name, n->n_configs, BN_MAX_CONFIGS);
	n->cpt = calloc((size_t)n->n_configs * (size_t)n->n_states, sizeof(double));
	unsigned char *set = calloc((size_t)n->n_configs, 1);
	int rc = n->cpt && set ? parse_table_body(lx, net, n, set) : bn_fail(lx, "out of memory");
	free(set);
	return rc;
}

/* Orders nodes parents-first; fails on a cycle, naming a node on it. */
static int topo_sort(struct bn *net, char *err, size_t errlen, const char *origin)
{
	int placed[BN_MAX_NODES] = { 0 }, count = 0;
	while (count < net->n_nodes) {
		int progress = 0;
		for (int i = 0; i < net->n_nodes; i++) {
			if (placed[i])
				continue;
			int ready = 1;
			for (int p = 0; p < net->node[i].n_parents && ready; p++)
				ready = placed[net->node[i].parents[p]];
			if (ready) {
				placed[i] = 1;
				net->topo[count++] = i;
				progress = 1;
			}
		}
		if (!progress) {
			for (int i = 0; i < net->n_nodes; i++)
				if (!placed[i]) {
					snprintf(err, errlen, "%s:%d: the network has a cycle through %s", origin,
						 net->node[i].line, net->node[i].name);
					return -1;
				}
		}
	}
	return 0;
}

/* "network NAME { property ...; }": the name is informative only. */
static int parse_network_block(struct lexer *lx)
{
	if (lx->kind != TOK_WORD)
		return bn_fail(lx, "expected a network name, found '%s'", lx->text);
	if (next(lx) < 0 || expect_punct(lx, '{') < 0)
		return -1;
	while (!is_punct(lx, '}')) {
		if (!is_word(lx, "property"))
			return bn_fail(lx, "network block: expected 'property' or '}', found '%s'", lx->text);
		if (skip_property(lx) < 0)
			return -1;
	}
	return next(lx);
}

static int parse_all(struct lexer *lx, struct bn *net)
{
	if (next(lx) < 0)
		return -1;
	while (lx->kind != TOK_END) {
		if (is_word(lx, "network")) {
			if (next(lx) < 0 || parse_network_block(lx) < 0)
				return -1;
		} else if (is_word(lx, "variable")) {
			if (next(lx) < 0 || parse_variable(lx, net) < 0)
				return -1;
		} else if (is_word(lx, "probability")) {
			if (next(lx) < 0 || parse_probability(lx, net) < 0)
				return -1;
		} else {
			return bn_fail(lx, "expected 'variable' or 'probability', found '%s'", lx->text);
		}
	}
	if (net->n_nodes == 0)
		return bn_fail(lx, "no variables");
	for (int i = 0; i < net->n_nodes; i++) {
		if (!net->node[i].cpt) {
			lx->tok_line = net->node[i].line;
			return bn_fail(lx, "variable %s has no probability block", net->node[i].name);
		}
	}
	return 0;
}

int bn_parse(struct bn *net, const char *text, const char *origin, char *err, size_t errlen)
{
	memset(net, 0, sizeof(*net));
	struct lexer lx = { .p = text, .origin = origin, .line = 1, .err = err, .errlen = errlen };
	if (parse_all(&lx, net) < 0 || topo_sort(net, err, errlen, origin) < 0) {
		bn_free(net);
		return -1;
	}
	return 0;
}

int bn_load_file(struct bn *net, const char *path, char *err, size_t errlen)
{
	memset(net, 0, sizeof(*net));
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	char *text = NULL;
	size_t cap = 0, len = 0, got;
	char chunk[8192];
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + got + 1 > cap) {
			cap = (len + got + 1) * 2;
			char *grown = realloc(text, cap);
			if (!grown) {
				free(text);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return -1;
			}
			text = grown;
		}
		memcpy(text + len, chunk, got);
		len += got;
	}
	int read_error = ferror(f);
	fclose(f);
	if (read_error) {
		free(text);
		snprintf(err, errlen, "%s: read error", path);
		return -1;
	}
	if (text)
		text[len] = '\0';
	int rc = bn_parse(net, text ? text : "", path, err, errlen);
	free(text);
	return rc;
}

int bn_load_model(struct bn *net, const char *path, char *err, size_t errlen)
{
	if (!path || !path[0])
		return bn_parse(net, bn_default_text, BN_DEFAULT_ORIGIN, err, errlen);
	return bn_load_file(net, path, err, errlen);
}

void bn_free(struct bn *net)
{
	for (int i = 0; i < net->n_nodes; i++) {
		free(net->node[i].cpt);
		net->node[i].cpt = NULL;
	}
	net->n_nodes = 0;
}

int bn_copy(struct bn *dst, const struct bn *src)
{
	*dst = *src;
	for (int i = 0; i < src->n_nodes; i++) {
		size_t n = (size_t)src->node[i].n_configs * (size_t)src->node[i].n_states;
		dst->node[i].cpt = malloc(n * sizeof(double));
		if (!dst->node[i].cpt) {
			dst->n_nodes = i;
			bn_free(dst);
			return -1;
		}
		memcpy(dst->node[i].cpt, src->node[i].cpt, n * sizeof(double));
	}
	return 0;
}

static void write_probs(FILE *f, const struct bn_node *n, const double *row)
{
	for (int s = 0; s < n->n_states; s++)
		fprintf(f, "%s%.6g", s ? ", " : "", row[s]);
	fprintf(f, ";\n");
}

static void write_table(FILE *f, const struct bn *net, const struct bn_node *n)
{
	fprintf(f, "probability ( %s", n->name);
	for (int p = 0; p < n->n_parents; p++)
		fprintf(f, "%s%s", p ? ", " : " | ", net->node[n->parents[p]].name);
	fprintf(f, " ) {\n");
	if (n->n_parents == 0) {
		fprintf(f, "  table ");
		write_probs(f, n, n->cpt);
	}
	for (int c = 0; n->n_parents > 0 && c < n->n_configs; c++) {
		char cfg[512];
		describe_config(net, n, c, cfg, sizeof(cfg));
		fprintf(f, "  %s ", cfg);
		write_probs(f, n, &n->cpt[c * n->n_states]);
	}
	fprintf(f, "}\n");
}

int bn_write(const struct bn *net, FILE *f, const char *header)
{
	for (const char *line = header; line && *line;) {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);
		fprintf(f, "//%s%.*s\n", len ? " " : "", len, line);
		line = nl ? nl + 1 : line + len;
	}
	fprintf(f, "network vigil_sla {\n}\n");
	for (int i = 0; i < net->n_nodes; i++) {
		const struct bn_node *n = &net->node[i];
		fprintf(f, "variable %s {\n  type discrete [ %d ] { ", n->name, n->n_states);
		for (int s = 0; s < n->n_states; s++)
			fprintf(f, "%s%s", s ? ", " : "", n->states[s]);
		fprintf(f, " };\n}\n");
	}
	for (int i = 0; i < net->n_nodes; i++)
		write_table(f, net, &net->node[i]);
	return ferror(f) ? -1 : 0;
}
