#include "server.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "server_stats.h"
#include "query.h"
#include "wire.h"

/* Long enough to notice a stop request promptly. */
#define RECV_POLL_MS 250

static int reply_error(Vigil__Error__Code code, const char *message, uint8_t **reply, size_t *reply_len)
{
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	Vigil__Error e = VIGIL__ERROR__INIT;
	server_stats_count_error();
	e.code = code;
	e.message = (char *)message;
	env.body_case = VIGIL__ENVELOPE__BODY_ERROR;
	env.error = &e;
	return wire_pack(&env, reply, reply_len);
}

static int handle_batch(struct store *st, const Vigil__Batch *b, uint8_t **reply, size_t *reply_len)
{
	char err[512];
	enum store_result res = store_batch(st, b, err, sizeof(err));
	server_stats_mark(STAGE_COMMIT);
	if (res != STORE_FAILED)
		server_stats_count_batch(b, res == STORE_DUPLICATE);
	if (res == STORE_FAILED) {
		log_error("storing batch: %s", err);
		return reply_error(VIGIL__ERROR__CODE__STORAGE, err, reply, reply_len);
	}
	if (res == STORE_DUPLICATE)
		log_info("host %s seq %llu: repeated batch acknowledged, not stored again", b->host,
			 (unsigned long long)b->seq);

	server_stats_mark(STAGE_POST_COMMIT);
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	Vigil__Ack ack = VIGIL__ACK__INIT;
	ack.seq = b->seq;
	ack.duplicate = res == STORE_DUPLICATE;
	env.body_case = VIGIL__ENVELOPE__BODY_ACK;
	env.ack = &ack;
	return wire_pack(&env, reply, reply_len);
}

static int handle_status(struct store *st, uint8_t **reply, size_t *reply_len)
{
	char err[512];
	Vigil__StatusReply *status;
	if (query_status(store_db(st), clock_realtime_ms(), &status, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return reply_error(VIGIL__ERROR__CODE__STORAGE, err, reply, reply_len);
	}
	server_stats_mark(STAGE_QUERY);
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	env.body_case = VIGIL__ENVELOPE__BODY_STATUS_REPLY;
	env.status_reply = status;
	int rc = wire_pack(&env, reply, reply_len);
	status_reply_free(status);
	return rc;
}

static int handle_stats(uint8_t **reply, size_t *reply_len)
{
	Vigil__StatsReply *stats = server_stats_snapshot();
	if (!stats)
		return -1;
	server_stats_mark(STAGE_QUERY);
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	env.body_case = VIGIL__ENVELOPE__BODY_STATS_REPLY;
	env.stats_reply = stats;
	int rc = wire_pack(&env, reply, reply_len);
	server_stats_free(stats);
	return rc;
}

int server_handle(struct store *st, const uint8_t *req, size_t len, uint8_t **reply, size_t *reply_len)
{
	char err[512];
	Vigil__Error__Code code;
	server_stats_count_request();
	Vigil__Envelope *env = wire_unpack(req, len, clock_realtime_ms(), &code, err, sizeof(err));
	server_stats_mark(STAGE_DECODE);
	if (!env) {
		log_warn("rejected request: %s", err);
		return reply_error(code, err, reply, reply_len);
	}
	int rc;
	switch (env->body_case) {
	case VIGIL__ENVELOPE__BODY_BATCH:
		rc = handle_batch(st, env->batch, reply, reply_len);
		break;
	case VIGIL__ENVELOPE__BODY_STATS_QUERY:
		rc = handle_stats(reply, reply_len);
		break;
	case VIGIL__ENVELOPE__BODY_STATUS_QUERY:
		rc = handle_status(st, reply, reply_len);
		break;
	default:
		snprintf(err, sizeof(err), "message kind %d is not a request the collector serves", env->body_case);
		log_warn("rejected request: %s", err);
		rc = reply_error(VIGIL__ERROR__CODE__MALFORMED, err, reply, reply_len);
	}
	wire_free(env);
	return rc;
}

static int open_listener(nng_socket *sock, const char *url)
{
	int rv;
	if ((rv = nng_rep0_open(sock)) != 0) {
		log_error("opening the reply socket: %s", nng_strerror(rv));
		return -1;
	}
	nng_socket_set_ms(*sock, NNG_OPT_RECVTIMEO, RECV_POLL_MS);
	nng_socket_set_size(*sock, NNG_OPT_RECVMAXSZ, WIRE_MAX_MESSAGE);
	if ((rv = nng_listen(*sock, url, NULL, 0)) != 0) {
		log_error("cannot listen on %s: %s", url, nng_strerror(rv));
		nng_close(*sock);
		return -1;
	}
	return 0;
}

/* One request, one reply. rep0 queues requests from all connected probes
 * and vigilctl clients, so one loop serves them all in arrival order. */
static void serve_one(nng_socket sock, struct store *st)
{
	void *req;
	size_t len;
	server_stats_begin();
	int rv = nng_recv(sock, &req, &len, NNG_FLAG_ALLOC);
	if (rv == NNG_ETIMEDOUT)
		return;
	if (rv != 0) {
		log_warn("receive failed: %s", nng_strerror(rv));
		return;
	}
	server_stats_mark(STAGE_RECEIVE);
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	if (server_handle(st, req, len, &reply, &reply_len) < 0) {
		log_error("out of memory building a reply; the sender will retry");
	} else if ((rv = nng_send(sock, reply, reply_len, 0)) != 0) {
		log_warn("sending a reply failed: %s (the sender will retry)", nng_strerror(rv));
	}
	server_stats_sent();
	free(reply);
	nng_free(req, len);
}

int server_run(struct store *st, const char *url, volatile sig_atomic_t *stop)
{
	nng_socket sock;
	if (open_listener(&sock, url) < 0)
		return -1;
	server_stats_started(clock_realtime_ms());
	log_info("listening on %s", url);
	while (!*stop)
		serve_one(sock, st);
	nng_close(sock);
	return 0;
}
