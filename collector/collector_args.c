#include "collector_args.h"

#include <getopt.h>

#include "log.h"
#include "defaults.h"
#include "server.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil-collector [OPTIONS]\n"
		"\n"
		"Receives batches from vigil-probe daemons over nng, stores them as\n"
		"temporal-interval rows in SQLite and answers vigilctl queries.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE     configuration file (default %s, read\n"
		"                        only if present); options given here win\n"
		"  -l, --listen URL      nng URL to listen on (default %s);\n"
		"                        tcp://HOST:PORT or ipc:///path\n"
		"  -d, --db FILE         SQLite database, created if missing\n"
		"                        (default %s)\n"
		"  -w, --workers N       threads decoding requests and answering queries\n"
		"                        (default %d; the store has one writer thread)\n"
		"      --log-level LVL   error, warning, info (default) or debug\n"
		"  -h, --help            show this help\n"
		"  -V, --version         show the version\n"
		"\n"
		"Exit status: 0 on a clean stop (SIGINT/SIGTERM), 1 on a runtime error,\n"
		"2 on a usage or configuration error.\n",
		VIGIL_DEFAULT_CONFIG, VIGIL_DEFAULT_LISTEN, VIGIL_DEFAULT_DB, SERVER_DEFAULT_WORKERS);
}

enum args_result collector_args_parse(int argc, char **argv, struct collector_args *a, FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "listen", required_argument, NULL, 'l' }, { "db", required_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'L' }, { "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
	};
	a->listen = VIGIL_DEFAULT_LISTEN;
	a->db = VIGIL_DEFAULT_DB;
	a->config = VIGIL_DEFAULT_CONFIG;
	a->config_required = 0;
	a->log_level = LOG_LVL_INFO;
	a->workers = SERVER_DEFAULT_WORKERS;
	a->set_on_cli = 0;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":c:l:d:w:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			a->config_required = 1;
			break;
		case 'l':
			a->listen = optarg;
			a->set_on_cli |= ARG_SET_LISTEN;
			break;
		case 'd':
			a->db = optarg;
			a->set_on_cli |= ARG_SET_DB;
			break;
		case 'L':
			if ((a->log_level = cli_parse_log_level(optarg)) < 0) {
				fprintf(err, "vigil-collector: --log-level '%s': use error, warning, info or debug\n", optarg);
				return ARGS_USAGE_ERROR;
			}
			a->set_on_cli |= ARG_SET_LOG_LEVEL;
			break;
		case 'w': {
			unsigned long v;
			if (cli_parse_uint(optarg, 1, SERVER_MAX_WORKERS, &v) < 0) {
				fprintf(err, "vigil-collector: --workers '%s': want 1-%d\n", optarg, SERVER_MAX_WORKERS);
				return ARGS_USAGE_ERROR;
			}
			a->workers = (unsigned)v;
			a->set_on_cli |= ARG_SET_WORKERS;
			break;
		}
		case 'h':
			usage(out);
			return ARGS_EXIT_OK;
		case 'V':
			fprintf(out, "vigil-collector %s\n", VIGIL_VERSION);
			return ARGS_EXIT_OK;
		case ':':
			fprintf(err, "vigil-collector: option '%s' needs a value\n", argv[optind - 1]);
			return ARGS_USAGE_ERROR;
		default:
			fprintf(err, "vigil-collector: unknown option '%s'; see --help\n", argv[optind - 1]);
			return ARGS_USAGE_ERROR;
		}
	}
	if (optind < argc) {
		fprintf(err, "vigil-collector: unexpected argument '%s'; see --help\n", argv[optind]);
		return ARGS_USAGE_ERROR;
	}
	if (!a->listen[0] || !a->db[0]) {
		fprintf(err, "vigil-collector: --listen and --db must not be empty\n");
		return ARGS_USAGE_ERROR;
	}
	return ARGS_RUN;
}
