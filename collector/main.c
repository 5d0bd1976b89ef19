/* vigil-collector: stores what the probes send and answers vigilctl. */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collector_args.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "sla_live.h"
#include "storage_config.h"
#include "store.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Creates the database's directory (one level) so the default path works on
 * a fresh host. */
static int ensure_db_dir(const char *db)
{
	char *copy = strdup(db);
	if (!copy)
		return -1;
	const char *dir = dirname(copy);
	int rc = mkdir(dir, 0750);
	free(copy);
	return rc == 0 || errno == EEXIST ? 0 : -1;
}

/* Reads the config file and lets it fill what the command line left; the
 * storage group is the store's. */
static int load_config(config_t *cfg, struct collector_args *args, struct storage_config *storage, char *err,
		       size_t errlen)
{
	storage_config_defaults(storage);
	if (conffile_load(cfg, args->config, args->config_required, err, errlen) < 0)
		return -1;
	char why[400];
	if (collector_config_apply(cfg, args, why, sizeof(why)) < 0 ||
	    storage_config_read(cfg, storage, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", args->config, why);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct collector_args args;
	switch (collector_args_parse(argc, argv, &args, stdout, stderr)) {
	case ARGS_EXIT_OK:
		return 0;
	case ARGS_USAGE_ERROR:
		return EXIT_USAGE;
	case ARGS_RUN:
		break;
	}
	char err[512];
	config_t cfg; /* keeps the strings args may now point into */
	struct storage_config storage;
	if (load_config(&cfg, &args, &storage, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigil-collector: %s\n", err);
		config_destroy(&cfg);
		storage_config_free(&storage);
		return EXIT_USAGE;
	}
	struct sla_live sla;
	if (sla_live_setup(&sla, &cfg, args.config) < 0) {
		sla_live_stop(&sla);
		config_destroy(&cfg);
		storage_config_free(&storage);
		return EXIT_USAGE;
	}
	log_init("vigil-collector", args.log_level);
	install_signals();

	struct store *st;
	if (ensure_db_dir(args.db) < 0)
		log_warn("cannot create the directory of %s: %s", args.db, strerror(errno));
	int rc = store_open_config(&st, args.db, &storage, err, sizeof(err));
	storage_config_free(&storage);
	if (rc < 0) {
		log_error("%s", err);
		sla_live_stop(&sla);
		config_destroy(&cfg);
		return EXIT_RUNTIME;
	}
	log_info("database %s ready", args.db);
	struct server_ctx server = { .url = args.listen, .db_path = args.db, .workers = args.workers, .st = st,
				     .sla = &sla };
	rc = sla_live_start(&sla, st);
	if (rc == 0)
		rc = server_run(&server, &stop_requested);
	sla_live_stop(&sla);
	store_close(st);
	config_destroy(&cfg);
	log_info("stopped");
	return rc == 0 ? 0 : EXIT_RUNTIME;
}
