/* vigilctl: ask a collector (or read its database) what the VMs are doing. */
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "catalogue.h"
#include "ctl_args.h"
#include "metrics_view.h"
#include "query.h"
#include "rpc.h"
#include "sla_cli.h"
#include "status_view.h"
#include "store.h"
#include "wire.h"

static int status_from_db(const char *path, Vigil__StatusReply **out)
{
	char err[512];
	struct store *st;
	if (store_open(&st, path, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: %s\n", err);
		return -1;
	}
	int rc = query_status(store_db(st), clock_realtime_ms(), out, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "vigilctl: %s: %s\n", path, err);
	store_close(st);
	return rc;
}

/* Takes ownership of the reply's status message out of the envelope. */
static int status_from_collector(const struct ctl_args *a, Vigil__StatusReply **out)
{
	char err[512];
	nng_socket sock;
	if (rpc_open(&sock, a->collector, a->timeout_ms, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: %s (is vigil-collector running? or use --db FILE)\n", err);
		return -1;
	}
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT, *reply = NULL;
	Vigil__StatusQuery q = VIGIL__STATUS_QUERY__INIT;
	req.body_case = VIGIL__ENVELOPE__BODY_STATUS_QUERY;
	req.status_query = &q;
	int rc = rpc_call(sock, &req, &reply, err, sizeof(err));
	nng_close(sock);
	if (rc < 0) {
		fprintf(stderr, "vigilctl: collector %s: %s\n", a->collector, err);
		return -1;
	}
	if (reply->body_case != VIGIL__ENVELOPE__BODY_STATUS_REPLY) {
		fprintf(stderr, "vigilctl: collector %s answered with an error: %s\n", a->collector,
			reply->body_case == VIGIL__ENVELOPE__BODY_ERROR ? reply->error->message : "unexpected reply");
		wire_free(reply);
		return -1;
	}
	*out = reply->status_reply;
	reply->status_reply = NULL;
	reply->body_case = VIGIL__ENVELOPE__BODY__NOT_SET;
	wire_free(reply);
	return 0;
}

static int run_status(const struct ctl_args *a)
{
	Vigil__StatusReply *r;
	int rc = a->db ? status_from_db(a->db, &r) : status_from_collector(a, &r);
	if (rc < 0)
		return EXIT_RUNTIME;
	if (a->json)
		rc = status_print_json(stdout, r);
	else
		status_print_table(stdout, r);
	status_reply_free(r);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

/* The catalogue is built in: it needs neither a collector nor a database. */
static int run_metrics(const struct ctl_args *a)
{
	if (!a->json) {
		metrics_print_table(stdout, vigil_catalogue, vigil_catalogue_count);
		return 0;
	}
	return metrics_print_json(stdout, vigil_catalogue, vigil_catalogue_count) < 0 ? EXIT_RUNTIME : 0;
}

int main(int argc, char **argv)
{
	struct ctl_args args;
	/* The SLA commands take arguments of their own after the command word;
	 * the global options are those before it. */
	int sla_at = sla_cli_command_index(argc, argv);
	switch (ctl_args_parse(sla_at ? sla_at + 1 : argc, argv, &args, stdout, stderr)) {
	case ARGS_EXIT_OK:
		return 0;
	case ARGS_USAGE_ERROR:
		return EXIT_USAGE;
	case ARGS_RUN:
		break;
	}
	switch (args.command) {
	case CTL_STATUS:
		return run_status(&args);
	case CTL_METRICS:
		return run_metrics(&args);
	case CTL_SLA:
	case CTL_ALERTS:
	case CTL_AVAILABILITY:
		return sla_cli_run(&args, argc - sla_at, argv + sla_at);
	}
	return EXIT_USAGE;
}
