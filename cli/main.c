/* vigilctl: ask a collector (or read its database) what the VMs are doing. */
#include <stdio.h>
#include <stdlib.h>

#include "catalogue.h"
#include "ctl_args.h"
#include "ctl_query.h"
#include "history_view.h"
#include "metrics_view.h"
#include "sla_cli.h"
#include "status_view.h"

static enum view_format format_of(const struct ctl_args *a)
{
	return a->json ? VIEW_JSON : a->csv ? VIEW_CSV : VIEW_TABLE;
}

static int run_status(const struct ctl_args *a)
{
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	Vigil__StatusQuery q = VIGIL__STATUS_QUERY__INIT;
	struct ctl_reply reply;
	req.body_case = VIGIL__ENVELOPE__BODY_STATUS_QUERY;
	req.status_query = &q;
	if (ctl_query(a, &req, VIGIL__ENVELOPE__BODY_STATUS_REPLY, &reply) < 0)
		return EXIT_RUNTIME;
	int rc = 0;
	if (a->json)
		rc = status_print_json(stdout, reply.env->status_reply);
	else
		status_print_table(stdout, reply.env->status_reply);
	ctl_reply_free(&reply);
	return rc < 0 ? EXIT_RUNTIME : 0;
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
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	struct ctl_reply reply;
	req.body_case = VIGIL__ENVELOPE__BODY_HISTORY_QUERY;
	req.history_query = &q;
	if (ctl_query(a, &req, VIGIL__ENVELOPE__BODY_HISTORY_REPLY, &reply) < 0)
		return EXIT_RUNTIME;
	int rc = history_print(stdout, reply.env->history_reply, format_of(a));
	ctl_reply_free(&reply);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

static int run_hosts(const struct ctl_args *a)
{
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	Vigil__HostsQuery q = VIGIL__HOSTS_QUERY__INIT;
	struct ctl_reply reply;
	req.body_case = VIGIL__ENVELOPE__BODY_HOSTS_QUERY;
	req.hosts_query = &q;
	if (ctl_query(a, &req, VIGIL__ENVELOPE__BODY_HOSTS_REPLY, &reply) < 0)
		return EXIT_RUNTIME;
	int rc = hosts_print(stdout, reply.env->hosts_reply, format_of(a));
	ctl_reply_free(&reply);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

static int run_vms(const struct ctl_args *a)
{
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	Vigil__VmsQuery q = VIGIL__VMS_QUERY__INIT;
	struct ctl_reply reply;
	q.host = (char *)(a->host ? a->host : "");
	req.body_case = VIGIL__ENVELOPE__BODY_VMS_QUERY;
	req.vms_query = &q;
	if (ctl_query(a, &req, VIGIL__ENVELOPE__BODY_VMS_REPLY, &reply) < 0)
		return EXIT_RUNTIME;
	int rc = vms_print(stdout, reply.env->vms_reply, format_of(a));
	ctl_reply_free(&reply);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

static int run_show(const struct ctl_args *a)
{
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT;
	Vigil__ShowQuery q = VIGIL__SHOW_QUERY__INIT;
	struct ctl_reply reply;
	q.vm = (char *)a->vm;
	req.body_case = VIGIL__ENVELOPE__BODY_SHOW_QUERY;
	req.show_query = &q;
	if (ctl_query(a, &req, VIGIL__ENVELOPE__BODY_SHOW_REPLY, &reply) < 0)
		return EXIT_RUNTIME;
	int rc = show_print(stdout, reply.env->show_reply, format_of(a));
	ctl_reply_free(&reply);
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
