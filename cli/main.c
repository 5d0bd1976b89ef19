/* vigilctl: ask a collector (or read its database) what the VMs are doing. */
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "catalogue.h"
#include "ctl_args.h"
#include "ctl_ask.h"
#include "history_view.h"
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


static enum view_format format_of(const struct ctl_args *a)
{
	return a->json ? VIEW_JSON : a->csv ? VIEW_CSV : VIEW_TABLE;
}


static int run_history(const struct ctl_args *a)
{
	Vigil__Tag tags[CTL_MAX_TAGS], *tag_ptrs[CTL_MAX_TAGS];
	Vigil__HistoryQuery q = VIGIL__HISTORY_QUERY__INIT;
	q.vm = (char *)a->vm;
	q.metric = (char *)(a->metric ? a->metric : "");
	q.since_ms = a->since_ms;
	q.until_ms = a->until_ms;
	q.step_ms = a->step_ms;
	for (unsigned i = 0; i < a->n_tags; i++) {
		vigil__tag__init(&tags[i]);
		tags[i].key = (char *)a->tags[i].key;
		tags[i].value = (char *)a->tags[i].value;
		tag_ptrs[i] = &tags[i];
	}
	q.has_tags = a->n_tags > 0;
	q.n_tags = a->n_tags;
	q.tags = a->n_tags ? tag_ptrs : NULL;
	Vigil__HistoryReply *r = NULL;
	Vigil__Envelope *reply = NULL;
	if (a->db) {
		char err[512];
		struct store *st = ctl_open_db(a->db);
		if (!st)
			return EXIT_RUNTIME;
		int rc = query_history(store_db(st), clock_realtime_ms(), &q, 0, &r, err, sizeof(err));
		store_close(st);
		if (rc < 0) {
			fprintf(stderr, "vigilctl: %s: %s\n", a->db, err);
			return EXIT_RUNTIME;
		}
	} else {
		Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
		req.body_case = VIGIL__ENVELOPE__BODY_HISTORY_QUERY;
		req.history_query = &q;
		if (!(reply = ctl_ask(a, &req, VIGIL__ENVELOPE__BODY_HISTORY_REPLY)))
			return EXIT_RUNTIME;
		r = reply->history_reply;
	}
	int rc = history_print(stdout, r, format_of(a));
	if (reply)
		wire_free(reply);
	else
		history_reply_free(r);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

static int run_hosts(const struct ctl_args *a)
{
	Vigil__HostsReply *r = NULL;
	Vigil__Envelope *reply = NULL;
	if (a->db) {
		char err[512];
		struct store *st = ctl_open_db(a->db);
		if (!st)
			return EXIT_RUNTIME;
		int rc = query_hosts(store_db(st), clock_realtime_ms(), &r, err, sizeof(err));
		store_close(st);
		if (rc < 0) {
			fprintf(stderr, "vigilctl: %s: %s\n", a->db, err);
			return EXIT_RUNTIME;
		}
	} else {
		Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
		Vigil__HostsQuery q = VIGIL__HOSTS_QUERY__INIT;
		req.body_case = VIGIL__ENVELOPE__BODY_HOSTS_QUERY;
		req.hosts_query = &q;
		if (!(reply = ctl_ask(a, &req, VIGIL__ENVELOPE__BODY_HOSTS_REPLY)))
			return EXIT_RUNTIME;
		r = reply->hosts_reply;
	}
	int rc = hosts_print(stdout, r, format_of(a));
	if (reply)
		wire_free(reply);
	else
		vigil__hosts_reply__free_unpacked(r, NULL);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

static int run_vms(const struct ctl_args *a)
{
	Vigil__VmsReply *r = NULL;
	Vigil__Envelope *reply = NULL;
	if (a->db) {
		char err[512];
		struct store *st = ctl_open_db(a->db);
		if (!st)
			return EXIT_RUNTIME;
		int rc = query_vms(store_db(st), clock_realtime_ms(), a->host, &r, err, sizeof(err));
		store_close(st);
		if (rc < 0) {
			fprintf(stderr, "vigilctl: %s: %s\n", a->db, err);
			return EXIT_RUNTIME;
		}
	} else {
		Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
		Vigil__VmsQuery q = VIGIL__VMS_QUERY__INIT;
		q.host = (char *)(a->host ? a->host : "");
		req.body_case = VIGIL__ENVELOPE__BODY_VMS_QUERY;
		req.vms_query = &q;
		if (!(reply = ctl_ask(a, &req, VIGIL__ENVELOPE__BODY_VMS_REPLY)))
			return EXIT_RUNTIME;
		r = reply->vms_reply;
	}
	int rc = vms_print(stdout, r, format_of(a));
	if (reply)
		wire_free(reply);
	else
		vigil__vms_reply__free_unpacked(r, NULL);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

static int run_show(const struct ctl_args *a)
{
	Vigil__ShowReply *r = NULL;
	Vigil__Envelope *reply = NULL;
	if (a->db) {
		char err[512];
		struct store *st = ctl_open_db(a->db);
		if (!st)
			return EXIT_RUNTIME;
		int rc = query_show(store_db(st), clock_realtime_ms(), a->vm, &r, err, sizeof(err));
		store_close(st);
		if (rc < 0) {
			fprintf(stderr, "vigilctl: %s\n", err);
			return EXIT_RUNTIME;
		}
	} else {
		Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
		Vigil__ShowQuery q = VIGIL__SHOW_QUERY__INIT;
		q.vm = (char *)a->vm;
		req.body_case = VIGIL__ENVELOPE__BODY_SHOW_QUERY;
		req.show_query = &q;
		if (!(reply = ctl_ask(a, &req, VIGIL__ENVELOPE__BODY_SHOW_REPLY)))
			return EXIT_RUNTIME;
		r = reply->show_reply;
	}
	int rc = show_print(stdout, r, format_of(a));
	if (reply)
		wire_free(reply);
	else
		vigil__show_reply__free_unpacked(r, NULL);
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
	case CTL_HISTORY:
		return run_history(&args);
	case CTL_HOSTS:
		return run_hosts(&args);
	case CTL_VMS:
		return run_vms(&args);
	case CTL_SHOW:
		return run_show(&args);
	case CTL_SLA:
	case CTL_ALERTS:
	case CTL_AVAILABILITY:
		return sla_cli_run(&args, argc - sla_at, argv + sla_at);
	}
	return EXIT_USAGE;
}
