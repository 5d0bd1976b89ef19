#include "sla_cli.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cli.h"
#include "conffile.h"
#include "ctl_query.h"
#include "history.h"
#include "query.h"
#include "sla_cases.h"
#include "sla_learn.h"
#include "sla_view.h"

/* ---- finding the command word ------------------------------------------------------ */

static int is_sla_command(const char *w)
{
	return strcmp(w, "sla") == 0 || strcmp(w, "alerts") == 0 || strcmp(w, "availability") == 0;
}

int sla_cli_command_index(int argc, char **argv)
{
	/* The global options that take a value in the next argument. */
	static const char *const with_value[] = { "-c", "--collector", "-d", "--db", "-t", "--timeout", "--tag",
						  "--since", "--until", "--step", "--host", NULL };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return i + 1 < argc && is_sla_command(argv[i + 1]) ? i + 1 : 0;
		if (a[0] != '-' || a[1] == '\0')
			return is_sla_command(a) ? i : 0;
		for (const char *const *w = with_value; *w; w++)
			if (strcmp(a, *w) == 0)
				i++;
	}
	return 0;
}

/* ---- options ------------------------------------------------------------------------- */

struct sla_opts {
	struct ctl_args g;
	int64_t now_ms; /* relative times are taken against it */
	const char *model, *cases, *out, *slo, *config, *vm_filter, *save_cases, *target;
	int has_since, has_until;
	int64_t since_ms, until_ms;
	int64_t window_ms, slice_ms; /* 0: the command's default */
	double target_pct;
	double prior_weight;
	long max_iterations;
	int from_history, open_only;
	int n_args;
	char **args;
};

enum opt_id {
	O_MODEL = 256, O_CASES, O_OUT, O_SINCE, O_UNTIL, O_SLO, O_CONFIG, O_VM, O_SAVE, O_NODE, O_WINDOW, O_TARGET,
	O_PRIOR, O_ITER, O_SLICE, O_HISTORY, O_OPEN
};

/* Which options each command takes, as a string of their letters. */
struct command_def {
	const char *name;
	const char *usage;
	const char *accepts; /* option ids as characters, see opt_char() */
	int min_args, max_args;
};

static char opt_char(int id)
{
	return (char)('A' + (id - O_MODEL));
}

static const struct command_def commands[] = {
	{ "sla infer",
	  "Usage: vigilctl sla infer [--model FILE] [--node NODE] [--json] [NODE=STATE]...\n"
	  "\n"
	  "P(NODE) given the evidence, by exact inference in the SLA network; NODE is\n"
	  "the SLA node (default SLA). Nodes left out are marginalised. Needs no\n"
	  "collector. --model FILE: a network file (docs/sla.md); default: the\n"
	  "built-in schema/sla/default.net.\n",
	  "AJ", 0, 64 },
	{ "sla train",
	  "Usage: vigilctl sla train --cases FILE.csv [--model FILE] --out FILE [OPTIONS]\n"
	  "       vigilctl [--db DB] sla train --from-history --since T [--until T] [--slice 5m]\n"
	  "                [--slo EXPR | --config FILE] [--vm VM] [--save-cases FILE.csv] --out FILE\n"
	  "\n"
	  "Learns the network's tables (maximum likelihood with a Dirichlet prior\n"
	  "centred on --model, EM when values are missing) and writes the network to\n"
	  "--out ('-' for standard output). Reports iterations and log-likelihood.\n"
	  "\n"
	  "  --cases FILE.csv     header naming nodes, one case per line, state names,\n"
	  "                       '?' for a missing value\n"
	  "  --from-history       cases from stored history (the collector's, or the\n"
	  "                       --db file's raw intervals): each VM's sla.* rows\n"
	  "                       in slices, labelled by the SLO expression\n"
	  "  --since T, --until T window (times and durations D as in vigilctl --help:\n"
	  "                       2h, 30d, now, 2025-01-31T12:00Z, @1767225600, ...)\n"
	  "  --slice D            slice length (default 5m)\n"
	  "  --slo EXPR           e.g. 'HOST=DOWN || cpu.wait_pct > 50' (default: the\n"
	  "                       collector config's sla.slo, or HOST=DOWN)\n"
	  "  --config FILE        read sla.slo and sla.model from a collector config\n"
	  "  --vm VM              only this VM's history\n"
	  "  --save-cases FILE    also write the cases built from history as CSV\n"
	  "  --prior-weight W     prior cases per table row (default 1)\n"
	  "  --max-iterations N   EM iterations at most (default 200)\n",
	  "ABCDEFGHIMNOP", 0, 0 },
	{ "sla explain",
	  "Usage: vigilctl [--collector URL | --db FILE] sla explain VM [--model FILE] [--json]\n"
	  "\n"
	  "The VM's last evaluation: evidence (and the reading behind each state),\n"
	  "P(violation), and the evidence nodes ranked by how far moving each to\n"
	  "its healthiest state would lower P(violation). With --db, the model is\n"
	  "the one the collector recorded unless --model is given.\n",
	  "A", 1, 1 },
	{ "alerts",
	  "Usage: vigilctl [--collector URL | --db FILE] alerts [--open] [--since T] [--vm VM] [--json]\n"
	  "\n"
	  "SLA alerts with start, end, peak P(violation) and cause. --since T lists\n"
	  "alerts still open or ended after T (2h, 7d, 2025-01-31, ...; the times of\n"
	  "vigilctl --help).\n",
	  "DHQ", 0, 0 },
	{ "availability",
	  "Usage: vigilctl [--collector URL | --db FILE] availability VM [--window 30d] [--target 99.9] [--json]\n"
	  "\n"
	  "Uptime %, nines, downtime and outages, MTBF and MTTR over the window\n"
	  "ending at the VM's last evaluation, from its HOST (heartbeat and running\n"
	  "state) intervals, and whether the target's allowed downtime was kept.\n"
	  "--window D: a duration as in vigilctl --help (default 30d).\n",
	  "KL", 1, 1 },
};

static const struct command_def *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int usage_error(const struct command_def *c, const char *fmt, const char *what)
{
	fprintf(stderr, "vigilctl: %s: ", c->name);
	fprintf(stderr, fmt, what);
	fprintf(stderr, "; see vigilctl %s --help\n", c->name);
	return -1;
}

static int take_option(const struct command_def *c, struct sla_opts *o, int id, const char *arg, const char *spelled)
{
	if (id >= O_MODEL && !strchr(c->accepts, opt_char(id)))
		return usage_error(c, "option %s does not apply here", spelled);
	unsigned long n;
	switch (id) {
	case O_MODEL: o->model = arg; break;
	case O_CASES: o->cases = arg; break;
	case O_OUT: o->out = arg; break;
	case O_SINCE:
		o->has_since = 1;
		return ctl_parse_time(spelled, arg, o->now_ms, &o->since_ms, stderr);
	case O_UNTIL:
		o->has_until = 1;
		return ctl_parse_time(spelled, arg, o->now_ms, &o->until_ms, stderr);
	case O_SLO: o->slo = arg; break;
	case O_CONFIG: o->config = arg; break;
	case O_VM: o->vm_filter = arg; break;
	case O_SAVE: o->save_cases = arg; break;
	case O_NODE: o->target = arg; break;
	case O_WINDOW: return ctl_parse_duration(spelled, arg, 1000, &o->window_ms, stderr);
	case O_HISTORY: o->from_history = 1; break;
	case O_OPEN: o->open_only = 1; break;
	case O_TARGET: {
		char *end;
		o->target_pct = strtod(arg, &end);
		if (*end || !(o->target_pct > 0 && o->target_pct < 100))
			return usage_error(c, "--target '%s': want a percentage above 0 and below 100, e.g. 99.9", arg);
		break;
	}
	case O_PRIOR: {
		char *end;
		o->prior_weight = strtod(arg, &end);
		if (*end || !(o->prior_weight >= 0 && o->prior_weight < 1e9))
			return usage_error(c, "--prior-weight '%s': want a number of cases, 0 or more", arg);
		break;
	}
	case O_ITER:
		if (cli_parse_uint(arg, 1, 100000, &n) < 0)
			return usage_error(c, "--max-iterations '%s': want 1-100000", arg);
		o->max_iterations = (long)n;
		break;
	case O_SLICE:
		return ctl_parse_duration(spelled, arg, 1000, &o->slice_ms, stderr);
	case 'j': o->g.json = 1; break;
	case 'd': o->g.db = arg; break;
	case 'c': o->g.collector = arg; break;
	case 't':
		if (cli_parse_uint(arg, 1, 600000, &n) < 0)
			return usage_error(c, "--timeout '%s': want milliseconds, 1-600000", arg);
		o->g.timeout_ms = (int)n;
		break;
	}
	return 0;
}

/* Parses argv (argv[0] is the last word of the command's name). 1: help
 * printed; 0: go on; -1: usage error printed. */
static int parse_options(const struct command_def *c, int argc, char **argv, struct sla_opts *o)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, O_MODEL },	 { "cases", required_argument, NULL, O_CASES },
		{ "out", required_argument, NULL, O_OUT },	 { "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },	 { "slo", required_argument, NULL, O_SLO },
		{ "config", required_argument, NULL, O_CONFIG }, { "vm", required_argument, NULL, O_VM },
		{ "save-cases", required_argument, NULL, O_SAVE }, { "node", required_argument, NULL, O_NODE },
		{ "window", required_argument, NULL, O_WINDOW }, { "target", required_argument, NULL, O_TARGET },
		{ "prior-weight", required_argument, NULL, O_PRIOR },
		{ "max-iterations", required_argument, NULL, O_ITER },
		{ "slice", required_argument, NULL, O_SLICE },	 { "from-history", no_argument, NULL, O_HISTORY },
		{ "open", no_argument, NULL, O_OPEN },		 { "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },		 { "collector", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },	 { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	opterr = 0;
	int id;
	while ((id = getopt_long(argc, argv, ":jd:c:t:h", opts, NULL)) != -1) {
		if (id == 'h') {
			fputs(c->usage, stdout);
			return 1;
		}
		if (id == ':')
			return usage_error(c, "option '%s' needs a value", argv[optind - 1]);
		if (id == '?')
			return usage_error(c, "unknown option '%s'", argv[optind - 1]);
		if (take_option(c, o, id, optarg, argv[optind - 1]) < 0)
			return -1;
	}
	o->args = argv + optind;
	o->n_args = argc - optind;
	if (o->n_args < c->min_args)
		return usage_error(c, "%s", c->min_args == 1 ? "name the VM (name or UUID)" : "missing arguments");
	if (o->n_args > c->max_args)
		return usage_error(c, "unexpected argument '%s'", o->args[c->max_args]);
	return 0;
}

/* ---- infer ----------------------------------------------------------------------------- */

static void list_states(const struct bn_node *n, char *out, size_t len)
{
	size_t used = 0;
	for (int s = 0; s < n->n_states && used < len; s++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", s ? ", " : "", n->states[s]);
}

static int load_model_or_report(struct bn *net, const char *path)
{
	char err[512];
	if (bn_load_model(net, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: %s\n", err);
		return -1;
	}
	return 0;
}

static int parse_evidence(const struct sla_opts *o, const struct bn *net, int *ev)
{
	for (int i = 0; i < BN_MAX_NODES; i++)
		ev[i] = -1;
	for (int i = 0; i < o->n_args; i++) {
		const char *eq = strchr(o->args[i], '=');
		char name[BN_NAME_MAX], all[400];
		if (!eq || eq == o->args[i] || (size_t)(eq - o->args[i]) >= sizeof(name)) {
			fprintf(stderr, "vigilctl: sla infer: '%s': want NODE=STATE\n", o->args[i]);
			return -1;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - o->args[i]), o->args[i]);
		int node = bn_find_node(net, name);
		if (node < 0) {
			size_t used = 0;
			for (int k = 0; k < net->n_nodes && used < sizeof(all); k++)
				used += (size_t)snprintf(all + used, sizeof(all) - used, "%s%s", k ? ", " : "",
							 net->node[k].name);
			fprintf(stderr, "vigilctl: sla infer: %s is not a node of the model (nodes: %s)\n", name, all);
			return -1;
		}
		ev[node] = bn_find_state(&net->node[node], eq + 1);
		if (ev[node] < 0) {
			list_states(&net->node[node], all, sizeof(all));
			fprintf(stderr, "vigilctl: sla infer: '%s' is not a state of %s (states: %s)\n", eq + 1, name, all);
			return -1;
		}
	}
	return 0;
}

static int print_infer(const struct sla_opts *o, const struct bn *net, const int *ev, int q, const double *post)
{
	const struct bn_node *n = &net->node[q];
	const char *model = o->model ? o->model : BN_DEFAULT_ORIGIN;
	if (o->g.json) {
		json_object *root = json_object_new_object(), *e = json_object_new_object(), *p = json_object_new_object();
		json_object_object_add(root, "model", json_object_new_string(model));
		for (int i = 0; i < net->n_nodes; i++)
			if (ev[i] >= 0)
				json_object_object_add(e, net->node[i].name, json_object_new_string(net->node[i].states[ev[i]]));
		json_object_object_add(root, "evidence", e);
		json_object_object_add(root, "node", json_object_new_string(n->name));
		for (int s = 0; s < n->n_states; s++)
			json_object_object_add(p, n->states[s], json_object_new_double(post[s]));
		json_object_object_add(root, "posterior", p);
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
		return 0;
	}
	printf("model: %s\nevidence:", model);
	int any = 0;
	for (int i = 0; i < net->n_nodes; i++)
		if (ev[i] >= 0)
			printf(" %s=%s", net->node[i].name, net->node[i].states[ev[i]]), any = 1;
	printf("%s\n", any ? "" : " (none: prior marginals)");
	for (int s = 0; s < n->n_states; s++)
		printf("P(%s=%s) = %.4f\n", n->name, n->states[s], post[s]);
	return 0;
}

static int run_infer(const struct sla_opts *o)
{
	struct bn net;
	int ev[BN_MAX_NODES];
	if (load_model_or_report(&net, o->model) < 0)
		return EXIT_RUNTIME;
	int rc = EXIT_USAGE;
	const char *target = o->target ? o->target : "SLA";
	int q = bn_find_node(&net, target);
	if (q < 0) {
		fprintf(stderr, "vigilctl: sla infer: the model has no node %s; name one with --node\n", target);
	} else if (parse_evidence(o, &net, ev) == 0) {
		double post[BN_MAX_STATES];
		char err[256];
		if (bn_posterior(&net, ev, q, post, err, sizeof(err)) < 0) {
			fprintf(stderr, "vigilctl: sla infer: %s\n", err);
			rc = EXIT_RUNTIME;
		} else {
			rc = print_infer(o, &net, ev, q, post) < 0 ? EXIT_RUNTIME : 0;
		}
	}
	bn_free(&net);
	return rc;
}

/* ---- train ------------------------------------------------------------------------------ */

/* Writes to a temporary file renamed over --out, so a failure never leaves
 * a half-written model where a good one was. */
static int write_model(const char *path, const struct bn *net, const char *header)
{
	if (strcmp(path, "-") == 0)
		return bn_write(net, stdout, header);
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "vigilctl: sla train: cannot write %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	int rc = bn_write(net, f, header);
	if (fclose(f) != 0 || rc < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "vigilctl: sla train: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int save_cases_csv(const char *path, const struct bn *net, const struct bn_cases *c)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "vigilctl: sla train: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < net->n_nodes; i++)
		fprintf(f, "%s%s", i ? "," : "", net->node[i].name);
	fputc('\n', f);
	for (int k = 0; k < c->n_cases; k++) {
		for (int i = 0; i < net->n_nodes; i++) {
			int s = c->state[(size_t)k * (size_t)c->n_nodes + (size_t)i];
			fprintf(f, "%s%s", i ? "," : "", s < 0 ? "?" : net->node[i].states[s]);
		}
		fputc('\n', f);
	}
	return fclose(f) == 0 ? 0 : -1;
}

static void print_marginals(const struct bn *net, json_object *json)
{
	int ev[BN_MAX_NODES];
	for (int i = 0; i < BN_MAX_NODES; i++)
		ev[i] = -1;
	if (!json)
		printf("learned marginals:\n");
	for (int i = 0; i < net->n_nodes; i++) {
		double post[BN_MAX_STATES];
		char err[128];
		if (bn_posterior(net, ev, i, post, err, sizeof(err)) < 0)
			continue;
		json_object *node = json ? json_object_new_object() : NULL;
		if (!json)
			printf("  %-14s", net->node[i].name);
		for (int s = 0; s < net->node[i].n_states; s++) {
			if (json)
				json_object_object_add(node, net->node[i].states[s], json_object_new_double(post[s]));
			else
				printf(" %s %.4f", net->node[i].states[s], post[s]);
		}
		if (json)
			json_object_object_add(json, net->node[i].name, node);
		else
			printf("\n");
	}
}

static void report_training(const struct sla_opts *o, const struct bn *net, const struct bn_cases *c,
			    const struct bn_learn_report *r, const char *source)
{
	FILE *out = strcmp(o->out, "-") == 0 ? stderr : stdout;
	if (o->g.json && out == stdout) {
		json_object *root = json_object_new_object(), *m = json_object_new_object();
		json_object_object_add(root, "source", json_object_new_string(source));
		json_object_object_add(root, "cases", json_object_new_int(c->n_cases));
		json_object_object_add(root, "distinct_cases", json_object_new_int(r->distinct));
		json_object_object_add(root, "missing_values", json_object_new_int64(r->missing));
		json_object_object_add(root, "method", json_object_new_string(r->missing ? "EM" : "closed form"));
		json_object_object_add(root, "iterations", json_object_new_int(r->iterations));
		json_object_object_add(root, "converged", json_object_new_boolean(r->converged));
		json_object_object_add(root, "log_likelihood", json_object_new_double(r->log_likelihood));
		json_object_object_add(root, "start_log_likelihood",
				       isinf(r->start_log_likelihood) ? NULL : json_object_new_double(r->start_log_likelihood));
		print_marginals(net, m);
		json_object_object_add(root, "marginals", m);
		json_object_object_add(root, "out", json_object_new_string(o->out));
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
		return;
	}
	fprintf(out, "cases: %d from %s (%d distinct), %ld missing values\n", c->n_cases, source, r->distinct,
		r->missing);
	fprintf(out, "%s: %d iteration%s%s; log-likelihood %.4f (start %.4f)\n", r->missing ? "EM" : "closed form",
		r->iterations, r->iterations == 1 ? "" : "s", r->converged ? ", converged" : ", NOT converged",
		r->log_likelihood, r->start_log_likelihood);
	if (out == stdout)
		print_marginals(net, NULL);
	fprintf(out, "wrote %s\n", strcmp(o->out, "-") == 0 ? "the model to standard output" : o->out);
}

/* sla.slo and sla.model from a collector config file, for --from-history. */
static int read_collector_config(const char *path, struct sla_config *c)
{
	config_t cfg;
	char err[512];
	if (conffile_load(&cfg, path, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: %s\n", err);
		config_destroy(&cfg);
		return -1;
	}
	int rc = sla_config_read(&cfg, c, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "vigilctl: %s: %s\n", path, err);
	config_destroy(&cfg);
	return rc;
}

static int scan_history(void *ctx, const struct history_filter *f, history_cb cb, void *arg, char *err,
			size_t errlen);

static int history_cases(const struct sla_opts *o, struct bn *net, struct bn_cases *cases, char *source, size_t len)
{
	struct sla_config c;
	char err[512];
	struct sla_history_opts h = { .slice_ms = o->slice_ms ? o->slice_ms : 300000, .vm = o->vm_filter,
				      .since_ms = o->since_ms, .until_ms = o->has_until ? o->until_ms : o->now_ms };
	if (!o->has_since) {
		fprintf(stderr, "vigilctl: sla train --from-history needs --since T\n");
		return EXIT_USAGE;
	}
	sla_config_defaults(&c);
	if (o->config && read_collector_config(o->config, &c) < 0)
		return EXIT_USAGE;
	const char *slo_text = o->slo ? o->slo : c.slo;
	struct sla_model m;
	struct bn copy;
	struct sla_slo slo;
	int rc = EXIT_RUNTIME;
	if (bn_copy(&copy, net) < 0 || sla_model_init(&m, &copy, "model", &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: sla train: %s\n", err);
		sla_config_free(&c);
		return EXIT_RUNTIME;
	}
	/* The rows come as vigilctl history's do: from the collector, or from
	 * the --db file through the same query. */
	struct history_source src = { scan_history, (void *)&o->g };
	if (sla_slo_parse(&slo, slo_text, &m, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: sla train: %s\n", err);
		rc = EXIT_USAGE;
	} else {
		struct sla_history_summary sum;
		bn_cases_init(cases, net);
		if (sla_history_cases(&src, &m, &slo, &h, cases, &sum, err, sizeof(err)) < 0) {
			fprintf(stderr, "vigilctl: sla train: %s: %s\n", o->g.db ? o->g.db : o->g.collector, err);
		} else {
			snprintf(source, len, "history: %d slices of %lld s from %d VMs, %d labelled %s by '%.200s'",
				 sum.slices, (long long)(h.slice_ms / 1000), sum.vms, sum.violated,
				 m.net.node[m.target].states[m.violated], slo_text);
			rc = 0;
		}
	}
	sla_model_free(&m);
	sla_config_free(&c);
	return rc;
}

static int run_train(const struct sla_opts *o)
{
	if (!o->out || (!o->cases == !o->from_history)) {
		fprintf(stderr, "vigilctl: sla train: give --out FILE and one of --cases FILE.csv or --from-history; "
			"see vigilctl sla train --help\n");
		return EXIT_USAGE;
	}
	struct bn net;
	struct bn_cases cases = { 0 };
	char source[512], err[512];
	if (load_model_or_report(&net, o->model) < 0)
		return EXIT_RUNTIME;
	int rc = 0;
	if (o->cases) {
		FILE *f = fopen(o->cases, "r");
		if (!f) {
			fprintf(stderr, "vigilctl: sla train: cannot open %s: %s\n", o->cases, strerror(errno));
			rc = EXIT_RUNTIME;
		} else {
			if (bn_cases_read_csv(&net, f, o->cases, &cases, err, sizeof(err)) < 0) {
				fprintf(stderr, "vigilctl: sla train: %s\n", err);
				rc = EXIT_RUNTIME;
			}
			fclose(f);
			snprintf(source, sizeof(source), "%s", o->cases);
		}
	} else {
		rc = history_cases(o, &net, &cases, source, sizeof(source));
		if (rc == 0 && o->save_cases && save_cases_csv(o->save_cases, &net, &cases) < 0)
			rc = EXIT_RUNTIME;
	}
	struct bn_learn_opts lo = BN_LEARN_DEFAULTS;
	struct bn_learn_report r;
	if (o->prior_weight >= 0)
		lo.prior_weight = o->prior_weight;
	if (o->max_iterations)
		lo.max_iterations = (int)o->max_iterations;
	if (rc == 0 && bn_learn(&net, &cases, &lo, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: sla train: %s\n", err);
		rc = EXIT_RUNTIME;
	}
	if (rc == 0) {
		char header[1024];
		snprintf(header, sizeof(header),
			 "Learned by vigilctl sla train from %s.\n%d cases, %ld missing values; %s, %d iterations, "
			 "log-likelihood %.4f.\nStarting model and prior: %s (prior weight %g per row).",
			 source, cases.n_cases, r.missing, r.missing ? "EM" : "closed form", r.iterations, r.log_likelihood,
			 o->model ? o->model : BN_DEFAULT_ORIGIN, lo.prior_weight);
		if (write_model(o->out, &net, header) < 0)
			rc = EXIT_RUNTIME;
		else
			report_training(o, &net, &cases, &r, source);
	}
	bn_cases_free(&cases);
	bn_free(&net);
	return rc;
}

/* ---- explain, alerts, availability ---------------------------------------------------------- */


/* history_scan's rows for sla_history_cases, asked as vigilctl history
 * asks: the raw intervals over the window in one HistoryQuery, answered by
 * the collector or, with --db, by the query dispatcher over the file. */
static int scan_history(void *ctx, const struct history_filter *f, history_cb cb, void *arg, char *err,
			size_t errlen)
{
	const struct ctl_args *g = ctx;
	Vigil__HistoryQuery q = VIGIL__HISTORY_QUERY__INIT;
	q.host = (char *)(f->host ? f->host : "");
	q.vm = (char *)(f->vm ? f->vm : "");
	q.metric = (char *)(f->metric ? f->metric : "");
	q.since_ms = f->since_ms;
	q.until_ms = f->until_ms;
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	struct ctl_reply reply;
	req.body_case = VIGIL__ENVELOPE__BODY_HISTORY_QUERY;
	req.history_query = &q;
	if (ctl_query(g, &req, VIGIL__ENVELOPE__BODY_HISTORY_REPLY, &reply) < 0) {
		snprintf(err, errlen, "no history (see above)");
		return -1;
	}
	const Vigil__HistoryReply *r = reply.env->history_reply;
	int rc = 0;
	if (strcmp(r->tier, "raw") != 0) {
		snprintf(err, errlen, "the window reaches back past the raw intervals the collector keeps; use a later "
			 "--since");
		rc = -1;
	} else if (r->truncated) {
		snprintf(err, errlen, "more rows than one reply carries; use a shorter window, --vm, or --db");
		rc = -1;
	}
	const Vigil__HistoryRow *n = NULL;
	for (size_t i = 0; rc == 0 && i < r->n_rows; i++) {
		const Vigil__HistoryRow *w = r->rows[i];
		n = history_row_names(w, n);
		/* The query matches tags as a subset; "" asks for untagged only. */
		if (f->tags && !f->tags_subset && strcmp(n->tags, f->tags) != 0)
			continue;
		struct history_row row = {
			.host = n->host, .vm = n->vm, .vm_uuid = n->vm_uuid, .metric = n->metric, .layer = n->layer,
			.unit = n->unit, .tags = n->tags, .t_start_ms = w->t_start_ms, .t_end_ms = w->t_end_ms,
			.value = w->value, .kind = n->kind, .samples = w->samples,
			.flags = (uint8_t)((w->gap ? IV_GAP : 0) | (w->reset ? IV_RESET : 0)), .open = w->open,
		};
		rc = cb(&row, arg);
	}
	ctl_reply_free(&reply);
	return rc;
}

static int run_explain(const struct sla_opts *o)
{
	if (o->model && !o->g.db) {
		fprintf(stderr, "vigilctl: sla explain: --model applies with --db; the collector explains "
			"with its own model\n");
		return EXIT_USAGE;
	}
	struct ctl_args g = o->g;
	g.explain_model = o->model;
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	Vigil__SlaExplainQuery q = VIGIL__SLA_EXPLAIN_QUERY__INIT;
	struct ctl_reply reply;
	q.vm = o->args[0];
	req.body_case = VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_QUERY;
	req.sla_explain_query = &q;
	if (ctl_query(&g, &req, VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_REPLY, &reply) < 0)
		return EXIT_RUNTIME;
	int rc = 0;
	if (o->g.json)
		rc = sla_explain_print_json(stdout, reply.env->sla_explain_reply);
	else
		sla_explain_print_table(stdout, reply.env->sla_explain_reply);
	ctl_reply_free(&reply);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

static int run_alerts(const struct sla_opts *o)
{
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	Vigil__AlertsQuery q = VIGIL__ALERTS_QUERY__INIT;
	struct ctl_reply reply;
	q.open_only = o->open_only;
	q.vm = (char *)(o->vm_filter ? o->vm_filter : "");
	q.since_ms = o->has_since ? o->since_ms : 0;
	req.body_case = VIGIL__ENVELOPE__BODY_ALERTS_QUERY;
	req.alerts_query = &q;
	if (ctl_query(&o->g, &req, VIGIL__ENVELOPE__BODY_ALERTS_REPLY, &reply) < 0)
		return EXIT_RUNTIME;
	int rc = 0;
	if (o->g.json)
		rc = sla_alerts_print_json(stdout, reply.env->alerts_reply);
	else
		sla_alerts_print_table(stdout, reply.env->alerts_reply);
	ctl_reply_free(&reply);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

static int run_availability(const struct sla_opts *o)
{
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	Vigil__AvailabilityQuery q = VIGIL__AVAILABILITY_QUERY__INIT;
	struct ctl_reply reply;
	q.vm = o->args[0];
	q.target_pct = o->target_pct > 0 ? o->target_pct : 99.9;
	q.window_ms = o->window_ms ? o->window_ms : 30LL * 86400000;
	req.body_case = VIGIL__ENVELOPE__BODY_AVAILABILITY_QUERY;
	req.availability_query = &q;
	if (ctl_query(&o->g, &req, VIGIL__ENVELOPE__BODY_AVAILABILITY_REPLY, &reply) < 0)
		return EXIT_RUNTIME;
	int rc = 0;
	if (o->g.json)
		rc = sla_availability_print_json(stdout, reply.env->availability_reply);
	else
		sla_availability_print_table(stdout, reply.env->availability_reply);
	ctl_reply_free(&reply);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static const char sla_usage[] =
	"Usage: vigilctl sla COMMAND [OPTIONS]\n"
	"\n"
	"The SLA Bayesian network (docs/sla.md):\n"
	"  infer [NODE=STATE]...   P(SLA) given evidence (offline)\n"
	"  train --cases FILE.csv  learn the tables from labelled cases (offline)\n"
	"  train --from-history    learn them from the database's SLA history\n"
	"  explain VM              a VM's evidence, P(violation) and ranked causes\n"
	"\n"
	"Each takes --help. Related: vigilctl alerts, vigilctl availability VM.\n";

int sla_cli_run(const struct ctl_args *global, int argc, char **argv)
{
	char name[32];
	int shift = 0;
	if (strcmp(argv[0], "sla") == 0) {
		if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			fputs(sla_usage, argc < 2 ? stderr : stdout);
			return argc < 2 ? EXIT_USAGE : 0;
		}
		snprintf(name, sizeof(name), "sla %.20s", argv[1]);
		shift = 1;
	} else {
		snprintf(name, sizeof(name), "%s", argv[0]);
	}
	const struct command_def *c = find_command(name);
	if (!c) {
		fprintf(stderr, "vigilctl: unknown command '%s'; see vigilctl sla --help\n", name);
		return EXIT_USAGE;
	}
	struct sla_opts o = { .g = *global, .now_ms = clock_realtime_ms(), .prior_weight = -1 };
	int p = parse_options(c, argc - shift, argv + shift, &o);
	if (p != 0)
		return p > 0 ? 0 : EXIT_USAGE;
	if (strcmp(c->name, "sla infer") == 0)
		return run_infer(&o);
	if (strcmp(c->name, "sla train") == 0)
		return run_train(&o);
	if (strcmp(c->name, "sla explain") == 0)
		return run_explain(&o);
	if (strcmp(c->name, "alerts") == 0)
		return run_alerts(&o);
	return run_availability(&o);
}
