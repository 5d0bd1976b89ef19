#include "ctl_args.h"

#include <getopt.h>
#include <string.h>

#include "server.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vigilctl [OPTIONS] COMMAND\n"
		"\n"
		"Queries a Vigil collector, or its database file directly.\n"
		"\n"
		"Commands:\n"
		"  status                one row per VM: host, VM, state, CPU %% (of one\n"
		"                        core), run-queue wait %%, vCPUs, last seen\n"
		"  metrics               the metric catalogue: name, unit, layer, kind, tags\n"
		"                        and meaning of every metric the probe sends\n"
		"  sla infer|train|explain  the SLA Bayesian network: P(violation) given\n"
		"                        evidence, learning it, a VM's causes (sla --help)\n"
		"  alerts                SLA alerts: start, end, peak P(violation), cause\n"
		"  availability VM       uptime %%, nines, outages, MTBF/MTTR against a target\n"
		"\n"
		"Options:\n"
		"  -c, --collector URL   collector to ask (default %s)\n"
		"  -d, --db FILE         read this database file instead of asking\n"
		"  -j, --json            print JSON instead of a table\n"
		"  -t, --timeout MS      give up on the collector after MS ms (default 5000)\n"
		"  -h, --help            show this help\n"
		"  -V, --version         show the version\n"
		"\n"
		"Exit status: 0 success, 1 runtime error (collector unreachable, database\n"
		"unreadable), 2 usage error.\n",
		VIGIL_DEFAULT_LISTEN);
}

static enum args_result parse_command(const char *word, struct ctl_args *a, FILE *err)
{
	if (strcmp(word, "status") == 0) {
		a->command = CTL_STATUS;
		return ARGS_RUN;
	}
	if (strcmp(word, "metrics") == 0) {
		a->command = CTL_METRICS;
		return ARGS_RUN;
	}
	static const struct {
		const char *word;
		enum ctl_command command;
	} sla_words[] = { { "sla", CTL_SLA }, { "alerts", CTL_ALERTS }, { "availability", CTL_AVAILABILITY } };
	for (size_t i = 0; i < sizeof(sla_words) / sizeof(sla_words[0]); i++) {
		if (strcmp(word, sla_words[i].word) == 0) {
			a->command = sla_words[i].command;
			return ARGS_RUN;
		}
	}
	fprintf(err, "vigilctl: unknown command '%s'; see vigilctl --help\n", word);
	return ARGS_USAGE_ERROR;
}

enum args_result ctl_args_parse(int argc, char **argv, struct ctl_args *a, FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "collector", required_argument, NULL, 'c' }, { "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },	       { "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },	       { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	memset(a, 0, sizeof(*a));
	a->collector = VIGIL_DEFAULT_LISTEN;
	a->timeout_ms = 5000;
	optind = 1;
	opterr = 0;
	int c;
	unsigned long v;
	while ((c = getopt_long(argc, argv, ":c:d:jt:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->collector = optarg;
			break;
		case 'd':
			a->db = optarg;
			break;
		case 'j':
			a->json = 1;
			break;
		case 't':
			if (cli_parse_uint(optarg, 1, 600000, &v) < 0) {
				fprintf(err, "vigilctl: --timeout '%s': want milliseconds, 1-600000\n", optarg);
				return ARGS_USAGE_ERROR;
			}
			a->timeout_ms = (int)v;
			break;
		case 'h':
			usage(out);
			return ARGS_EXIT_OK;
		case 'V':
			fprintf(out, "vigilctl %s\n", VIGIL_VERSION);
			return ARGS_EXIT_OK;
		case ':':
			fprintf(err, "vigilctl: option '%s' needs a value\n", argv[optind - 1]);
			return ARGS_USAGE_ERROR;
		default:
			fprintf(err, "vigilctl: unknown option '%s'; see vigilctl --help\n", argv[optind - 1]);
			return ARGS_USAGE_ERROR;
		}
	}
	if (optind >= argc) {
		fprintf(err, "vigilctl: no command given; see vigilctl --help\n");
		return ARGS_USAGE_ERROR;
	}
	if (optind + 1 < argc) {
		fprintf(err, "vigilctl: unexpected argument '%s' after '%s'\n", argv[optind + 1], argv[optind]);
		return ARGS_USAGE_ERROR;
	}
	return parse_command(argv[optind], a, err);
}
