#include "ctl_query.h"

#include <nng/nng.h>
#include <stdio.h>

#include "dispatch.h"
#include "reader.h"
#include "rpc.h"
#include "sla_config.h"
#include "sla_eval.h"
#include "sla_net.h"
#include "wire.h"

static int from_collector(const struct ctl_args *a, Vigil__Envelope *req, struct ctl_reply *reply)
{
	char err[512];
	nng_socket sock;
	if (rpc_open(&sock, a->collector, a->timeout_ms, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: %s (is vigil-collector running? or use --db FILE)\n", err);
		return -1;
	}
	int rc = rpc_call(sock, req, &reply->env, err, sizeof(err));
	nng_close(sock);
	if (rc < 0) {
		fprintf(stderr, "vigilctl: collector %s: %s\n", a->collector, err);
		return -1;
	}
	reply->free = wire_free;
	return 0;
}

/* The network file given to explain with, as the collector would read it
 * with default settings. */
static int load_model(const char *path, struct sla_model *m)
{
	char err[512];
	struct sla_config c;
	struct bn net;
	sla_config_defaults(&c);
	if (bn_load_model(&net, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: %s\n", err);
		return -1;
	}
	if (sla_model_init(m, &net, path, &c, err, sizeof(err)) < 0) {
		bn_free(&net);
		fprintf(stderr, "vigilctl: %s\n", err);
		return -1;
	}
	return 0;
}

static int from_db(const struct ctl_args *a, const Vigil__Envelope *req, struct ctl_reply *reply)
{
	char err[512];
	struct sla_model model;
	struct store_reader *store;
	/* No row limit: nothing is sent over the wire. */
	struct query_reader r = { .max_rows = 0 };
	if (store_reader_open(&store, a->db, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: %s\n", err);
		return -1;
	}
	r.store = store;
	int rc = 0;
	if (a->explain_model && req->body_case == VIGIL__ENVELOPE__BODY_SLA_EXPLAIN_QUERY) {
		rc = load_model(a->explain_model, &model);
		if (rc == 0)
			r.model = &model;
	}
	if (rc == 0 && query_dispatch(&r, req, &reply->env) < 0) {
		fprintf(stderr, "vigilctl: %s: out of memory\n", a->db);
		rc = -1;
	}
	if (r.model)
		sla_model_free(&model);
	store_reader_close(store);
	reply->free = query_reply_free;
	return rc;
}

int ctl_query(const struct ctl_args *a, Vigil__Envelope *req, Vigil__Envelope__BodyCase want, struct ctl_reply *reply)
{
	reply->env = NULL;
	reply->free = NULL;
	if ((a->db ? from_db(a, req, reply) : from_collector(a, req, reply)) < 0)
		return -1;
	if (reply->env->body_case != want) {
		fprintf(stderr, "vigilctl: %s\n",
			reply->env->body_case == VIGIL__ENVELOPE__BODY_ERROR ? reply->env->error->message
									     : "unexpected reply from the collector");
		ctl_reply_free(reply);
		return -1;
	}
	return 0;
}

void ctl_reply_free(struct ctl_reply *reply)
{
	if (reply->env)
		reply->free(reply->env);
	reply->env = NULL;
}
