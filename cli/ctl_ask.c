#include "ctl_ask.h"

#include <nng/nng.h>
#include <stdio.h>

#include "rpc.h"
#include "wire.h"

Vigil__Envelope *ctl_ask(const struct ctl_args *a, Vigil__Envelope *req, Vigil__Envelope__BodyCase want)
{
	char err[512];
	nng_socket sock;
	if (rpc_open(&sock, a->collector, a->timeout_ms, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: %s (is vigil-collector running? or use --db FILE)\n", err);
		return NULL;
	}
	Vigil__Envelope *reply = NULL;
	int rc = rpc_call(sock, req, &reply, err, sizeof(err));
	nng_close(sock);
	if (rc < 0) {
		fprintf(stderr, "vigilctl: collector %s: %s\n", a->collector, err);
		return NULL;
	}
	if (reply->body_case != want) {
		fprintf(stderr, "vigilctl: %s\n",
			reply->body_case == VIGIL__ENVELOPE__BODY_ERROR ? reply->error->message
									: "unexpected reply from the collector");
		wire_free(reply);
		return NULL;
	}
	return reply;
}

struct store *ctl_open_db(const char *path)
{
	char err[512];
	struct store *st;
	if (store_open(&st, path, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigilctl: %s\n", err);
		return NULL;
	}
	return st;
}
