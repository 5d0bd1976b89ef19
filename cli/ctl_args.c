#include "ctl_args.h"

#include <getopt.h>
#include <string.h>

#include "clock.h"
#include "defaults.h"
#include "timeparse.h"
#include "wire.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vigilctl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Queries a Vigil collector, or its database file directly.\n"
		"\n"
		"Commands:\n"
		"  status                one row per VM: host, VM, state, CPU %% (of one\n"
		"                        core), run-queue wait %%, vCPUs, last seen\n"
		"  metrics               the metric catalogue: name, unit, layer, kind, tags\n"
		"                        and meaning of every metric the probe sends\n"
		"  history VM [METRIC]   stored intervals of a VM's metric (every metric\n"
		"                        without METRIC), or rollups with --step\n"
		"  hosts                 the hypervisors that report: interval, VMs, last seen,\n"
		"                        metric families their probe cannot count\n"
		"  vms                   every VM ever seen, with its host and state\n"
		"  show VM               every current reading of a VM with its interval start\n"
		"  sla infer|train|explain  the SLA Bayesian network: P(violation) given\n"
		"                        evidence, learning it, a VM's causes (sla --help)\n"
		"  alerts                SLA alerts: start, end, peak P(violation), cause\n"
		"  availability VM       uptime %%, nines, outages, MTBF/MTTR against a target\n"
		"\n"
		"Options:\n"
		"  -c, --collector URL   collector to ask (default %s)\n"
		"  -d, --db FILE         read this database file instead of asking\n"
		"  -j, --json            print JSON instead of a table\n"
		"      --csv             print CSV (history)\n"
		"  -t, --timeout MS      give up on the collector after MS ms (default 5000)\n"
		"  -h, --help            show this help\n"
		"  -V, --version         show the version\n"
		"\n"
		"history options:\n"
		"      --tag KEY=VALUE   only series carrying this tag (repeatable), e.g.\n"
		"                        --tag vcpu=0, --tag dev=vda\n"
		"      --since T         from T (default: 1 hour ago)\n"
		"      --until T         to T (default: now)\n"
		"      --step D          rollups: time-weighted min, max, mean and last (and\n"
		"                        the total of counters) per step, e.g. 1m, 15m, 1h, 1d\n"
		"  Intervals come from the raw tier while it covers the window; older\n"
		"  windows and --step read the 1-minute or 1-hour rollups.\n"
		"\n"
		"vms options:\n"
		"      --host H          only the VMs of host H\n"
		"\n"
		"Times T, in every command (--since, --until):\n"
		"  now; a time ago: 30m, 1.5h, 2d12h, or with a minus -1h, -90 (seconds);\n"
		"  ISO 8601: 2026-03-01, 2026-03-01T12:00, 2026-03-01 12:00:05.250, with a\n"
		"  zone Z, +02, +0200 or +02:00 (UTC when none is given); Unix seconds:\n"
		"  @1767225600, or a bare number from 100000000 on. A smaller bare number\n"
		"  is refused as ambiguous: write 2026s for seconds ago, 2026-01-01 for a date.\n"
		"Durations D, in every command (--step, --window, --slice):\n"
		"  a number and a unit, ms, s, m or min, h, d, w or y (365 days); parts add\n"
		"  up: 90s, 15m, 1h30m, 1.5h, 30d. A bare number is seconds.\n"
		"\n"
		"Exit status: 0 success, 1 runtime error (collector unreachable, database\n"
		"unreadable, no such VM), 2 usage error.\n",
		VIGIL_DEFAULT_LISTEN);
}

enum { OPT_CSV = 256, OPT_TAG, OPT_SINCE, OPT_UNTIL, OPT_STEP, OPT_HOST };

struct command {
	const char *name;
	enum ctl_command id;
	unsigned min_args, max_args;
	const char *args;
};

static const struct command commands[] = {
	{ "status", CTL_STATUS, 0, 0, "" },    { "metrics", CTL_METRICS, 0, 0, "" },
	{ "history", CTL_HISTORY, 1, 2, "VM [METRIC]" }, { "hosts", CTL_HOSTS, 0, 0, "" },
	{ "vms", CTL_VMS, 0, 0, "" },	       { "show", CTL_SHOW, 1, 1, "VM" },
	/* The SLA commands parse their own arguments (cli/sla_cli.c): main
	 * hands this parser only the words up to the command. */
	{ "sla", CTL_SLA, 0, 0, "" },	       { "alerts", CTL_ALERTS, 0, 0, "" },
	{ "availability", CTL_AVAILABILITY, 0, 0, "" },
};

static int parse_tag(const char *text, struct ctl_args *a, FILE *err)
{
	const char *eq = strchr(text, '=');
	if (a->n_tags >= CTL_MAX_TAGS) {
		fprintf(err, "vigilctl: at most %d --tag options\n", CTL_MAX_TAGS);
		return -1;
	}
	struct ctl_tag *t = &a->tags[a->n_tags];
	size_t klen = eq ? (size_t)(eq - text) : 0;
	if (!eq || klen == 0 || klen >= sizeof(t->key) || !eq[1] || strlen(eq + 1) >= sizeof(t->value) ||
	    strchr(eq + 1, ',') || strchr(eq + 1, '=')) {
		fprintf(err, "vigilctl: --tag '%s': want KEY=VALUE, e.g. --tag vcpu=0\n", text);
		return -1;
	}
	memcpy(t->key, text, klen);
	t->key[klen] = '\0';
	snprintf(t->value, sizeof(t->value), "%s", eq + 1);
	for (unsigned i = 0; i < a->n_tags; i++)
		if (strcmp(a->tags[i].key, t->key) == 0) {
			fprintf(err, "vigilctl: --tag %s given twice\n", t->key);
			return -1;
		}
	a->n_tags++;
	return 0;
}

int ctl_parse_time(const char *opt, const char *text, int64_t now_ms, int64_t *out, FILE *err)
{
	char why[400];
	if (timeparse_time_ms(text, now_ms, out, why, sizeof(why)) < 0) {
		fprintf(err, "vigilctl: %s %s\n", opt, why);
		return -1;
	}
	return 0;
}

int ctl_parse_duration(const char *opt, const char *text, int64_t min_ms, int64_t *out, FILE *err)
{
	int64_t d;
	if (timeparse_duration_ms(text, &d) < 0) {
		fprintf(err, "vigilctl: %s '%s' is not a duration: use a number and a unit (ms, s, m or min, h, d, w, "
			"y), e.g. 90s, 15m, 1h30m, 1.5h or 30d\n", opt, text);
		return -1;
	}
	if (d < min_ms) {
		char least[32];
		timeparse_format_duration(least, sizeof(least), min_ms);
		fprintf(err, "vigilctl: %s '%s': want %s or more\n", opt, text, least);
		return -1;
	}
	*out = d;
	return 0;
}

/* Options that belong to one command; 0 for global ones. */
static unsigned option_owner(int c)
{
	switch (c) {
	case OPT_TAG:
	case OPT_SINCE:
	case OPT_UNTIL:
	case OPT_STEP:
	case OPT_CSV:
		return 1u << CTL_HISTORY;
	case OPT_HOST:
		return 1u << CTL_VMS;
	default:
		return 0;
	}
}

static int parse_option(int c, char **argv, struct ctl_args *a, int64_t now_ms, FILE *out, FILE *err, int *exit_ok)
{
	unsigned long v;
	switch (c) {
	case 'c':
		a->collector = optarg;
		return 0;
	case 'd':
		a->db = optarg;
		return 0;
	case 'j':
		a->json = 1;
		return 0;
	case OPT_CSV:
		a->csv = 1;
		return 0;
	case 't':
		if (cli_parse_uint(optarg, 1, 600000, &v) < 0) {
			fprintf(err, "vigilctl: --timeout '%s': want milliseconds, 1-600000\n", optarg);
			return -1;
		}
		a->timeout_ms = (int)v;
		return 0;
	case OPT_TAG:
		return parse_tag(optarg, a, err);
	case OPT_SINCE:
		return ctl_parse_time("--since", optarg, now_ms, &a->since_ms, err);
	case OPT_UNTIL:
		return ctl_parse_time("--until", optarg, now_ms, &a->until_ms, err);
	case OPT_STEP:
		return ctl_parse_duration("--step", optarg, 1, &a->step_ms, err);
	case OPT_HOST:
		a->host = optarg;
		return 0;
	case 'h':
		usage(out);
		*exit_ok = 1;
		return 0;
	case 'V':
		fprintf(out, "vigilctl %s\n", VIGIL_VERSION);
		*exit_ok = 1;
		return 0;
	case ':':
		fprintf(err, "vigilctl: option '%s' needs a value\n", argv[optind - 1]);
		return -1;
	default:
		fprintf(err, "vigilctl: unknown option '%s'; see vigilctl --help\n", argv[optind - 1]);
		return -1;
	}
}

static const struct command *find_command(const char *word)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, word) == 0)
			return &commands[i];
	return NULL;
}

/* The command word and its arguments, once getopt has moved the options
 * out of the way. */
static enum args_result parse_words(int argc, char **argv, struct ctl_args *a, unsigned used, FILE *err)
{
	if (optind >= argc) {
		fprintf(err, "vigilctl: no command given; see vigilctl --help\n");
		return ARGS_USAGE_ERROR;
	}
	const struct command *cmd = find_command(argv[optind]);
	if (!cmd) {
		fprintf(err, "vigilctl: unknown command '%s'; see vigilctl --help\n", argv[optind]);
		return ARGS_USAGE_ERROR;
	}
	unsigned n = (unsigned)(argc - optind - 1);
	char **args = argv + optind + 1;
	if (n > cmd->max_args) {
		fprintf(err, "vigilctl: unexpected argument '%s' after '%s'\n", args[cmd->max_args], cmd->name);
		return ARGS_USAGE_ERROR;
	}
	if (n < cmd->min_args) {
		fprintf(err, "vigilctl: %s needs %s; see vigilctl --help\n", cmd->name, cmd->args);
		return ARGS_USAGE_ERROR;
	}
	if (used & ~(1u << cmd->id)) {
		fprintf(err, "vigilctl: an option given does not apply to '%s'; see vigilctl --help\n", cmd->name);
		return ARGS_USAGE_ERROR;
	}
	a->command = cmd->id;
	if (cmd->id == CTL_HISTORY || cmd->id == CTL_SHOW)
		a->vm = args[0];
	if (cmd->id == CTL_HISTORY && n > 1) {
		a->metric = args[1];
		if (!wire_valid_metric(a->metric)) {
			fprintf(err, "vigilctl: '%s' is not a metric name (see vigilctl metrics)\n", a->metric);
			return ARGS_USAGE_ERROR;
		}
	}
	if (a->csv && a->json) {
		fprintf(err, "vigilctl: --csv and --json exclude each other\n");
		return ARGS_USAGE_ERROR;
	}
	return ARGS_RUN;
}

static void defaults(struct ctl_args *a, int64_t now_ms)
{
	memset(a, 0, sizeof(*a));
	a->collector = VIGIL_DEFAULT_LISTEN;
	a->timeout_ms = 5000;
	a->since_ms = now_ms - 3600 * 1000;
}

enum args_result ctl_args_parse_at(int argc, char **argv, struct ctl_args *a, int64_t now_ms, FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "collector", required_argument, NULL, 'c' }, { "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },	       { "csv", no_argument, NULL, OPT_CSV },
		{ "timeout", required_argument, NULL, 't' },   { "tag", required_argument, NULL, OPT_TAG },
		{ "since", required_argument, NULL, OPT_SINCE }, { "until", required_argument, NULL, OPT_UNTIL },
		{ "step", required_argument, NULL, OPT_STEP }, { "host", required_argument, NULL, OPT_HOST },
		{ "help", no_argument, NULL, 'h' },	       { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	defaults(a, now_ms);
	optind = 1;
	opterr = 0;
	int c, exit_ok = 0;
	unsigned used = 0;
	while ((c = getopt_long(argc, argv, ":c:d:jt:hV", opts, NULL)) != -1) {
		if (parse_option(c, argv, a, now_ms, out, err, &exit_ok) < 0)
			return ARGS_USAGE_ERROR;
		if (exit_ok)
			return ARGS_EXIT_OK;
		used |= option_owner(c);
	}
	enum args_result r = parse_words(argc, argv, a, used, err);
	if (r == ARGS_RUN && a->command == CTL_HISTORY && a->until_ms && a->until_ms < a->since_ms) {
		fprintf(err, "vigilctl: --until is before --since\n");
		return ARGS_USAGE_ERROR;
	}
	return r;
}

enum args_result ctl_args_parse(int argc, char **argv, struct ctl_args *a, FILE *out, FILE *err)
{
	return ctl_args_parse_at(argc, argv, a, clock_realtime_ms(), out, err);
}
