#include "server.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dispatch.h"
#include "log.h"
#include "query.h"
#include "reader.h"
#include "server_stats.h"
#include "sla_live.h"
#include "wire.h"

/* ---- replies ----------------------------------------------------------------- */

static int reply_error(struct server_ctx *ctx, Vigil__Error__Code code, const char *message, uint8_t **reply,
		       size_t *reply_len)
{
	server_stats_count_error(&ctx->stats);
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	Vigil__Error e = VIGIL__ERROR__INIT;
	e.code = code;
	e.message = (char *)message;
	env.body_case = VIGIL__ENVELOPE__BODY_ERROR;
	env.error = &e;
	return wire_pack(&env, reply, reply_len);
}

static int reply_stored(struct server_ctx *ctx, const Vigil__Batch *b, enum store_result res, const char *err,
			uint8_t **reply, size_t *reply_len)
{
	if (res != STORE_FAILED)
		server_stats_count_batch(&ctx->stats, b, res == STORE_DUPLICATE);
	if (res == STORE_FAILED) {
		log_error("storing batch: %s", err);
		return reply_error(ctx, VIGIL__ERROR__CODE__STORAGE, err, reply, reply_len);
	}
	if (res == STORE_DUPLICATE)
		log_info("host %s seq %llu: repeated batch acknowledged, not stored again", b->host,
			 (unsigned long long)b->seq);
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	Vigil__Ack ack = VIGIL__ACK__INIT;
	ack.seq = b->seq;
	ack.duplicate = res == STORE_DUPLICATE;
	env.body_case = VIGIL__ENVELOPE__BODY_ACK;
	env.ack = &ack;
	return wire_pack(&env, reply, reply_len);
}

/* ---- requests other than batches ------------------------------------------------ */

/* What a worker's queries are answered from: its own read-only
 * connection, the live SLA state, and at most HISTORY_MAX_ROWS rows. */
struct worker_reader {
	struct sla_live_view live;
	struct query_reader q;
};

static void worker_reader_init(struct worker_reader *w, struct server_ctx *ctx, const struct store_reader *store)
{
	memset(w, 0, sizeof(*w));
	w->q.store = store;
	w->q.max_rows = HISTORY_MAX_ROWS;
	if (ctx->sla && ctx->sla->engine) {
		w->live = sla_live_query_view(ctx->sla);
		w->q.live = &w->live;
		w->q.model = sla_live_model(ctx->sla);
	}
}

static int answer_stats(struct server_ctx *ctx, uint8_t **reply, size_t *reply_len)
{
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	env.body_case = VIGIL__ENVELOPE__BODY_STATS_REPLY;
	if (!(env.stats_reply = server_stats_snapshot(&ctx->stats)))
		return -1;
	int packed = wire_pack(&env, reply, reply_len);
	server_stats_free(env.stats_reply);
	return packed;
}

/* The server's own counters, or a read request for the query dispatcher;
 * its reply packed, or an Error when it does not fit in one message. */
static int answer_request(struct server_ctx *ctx, const struct query_reader *reader, const Vigil__Envelope *req,
			  uint8_t **reply, size_t *reply_len)
{
	if (req->body_case == VIGIL__ENVELOPE__BODY_STATS_QUERY)
		return answer_stats(ctx, reply, reply_len);
	if (!reader)
		return reply_error(ctx, VIGIL__ERROR__CODE__STORAGE,
				   "this worker has no read connection to the database (see the collector's log)", reply,
				   reply_len);
	Vigil__Envelope *env;
	if (query_dispatch(reader, req, &env) < 0)
		return -1;
	if (env->body_case == VIGIL__ENVELOPE__BODY_ERROR) {
		if (env->error->code == VIGIL__ERROR__CODE__MALFORMED)
			log_warn("rejected request: %s", env->error->message);
		else
			log_warn("query: %s", env->error->message);
		server_stats_count_error(&ctx->stats);
	}
	int packed = wire_pack(env, reply, reply_len);
	query_reply_free(env);
	if (packed == 0 && *reply_len > WIRE_MAX_MESSAGE) {
		free(*reply);
		return reply_error(ctx, VIGIL__ERROR__CODE__STORAGE,
				   "the answer is larger than one message; narrow the window or use --db", reply,
				   reply_len);
	}
	return packed;
}

static Vigil__Envelope *decode(struct server_ctx *ctx, ProtobufCAllocator *alloc, const uint8_t *req, size_t len,
			       uint8_t **reply, size_t *reply_len, int *rc)
{
	char err[512];
	Vigil__Error__Code code;
	Vigil__Envelope *env = wire_unpack_with(alloc, req, len, clock_realtime_ms(), &code, err, sizeof(err));
	if (!env) {
		log_warn("rejected request: %s", err);
		*rc = reply_error(ctx, code, err, reply, reply_len);
	}
	return env;
}

int server_handle(struct server_ctx *ctx, const struct store_reader *store, const uint8_t *req, size_t len,
		  uint8_t **reply, size_t *reply_len)
{
	struct stage_timer timer;
	int rc = 0;
	server_stats_count_request(&ctx->stats);
	stage_timer_start(&timer, &ctx->stats);
	Vigil__Envelope *env = decode(ctx, NULL, req, len, reply, reply_len, &rc);
	stage_timer_mark(&timer, STAGE_DECODE);
	if (!env)
		return rc;
	if (env->body_case == VIGIL__ENVELOPE__BODY_BATCH) {
		char err[512];
		struct store_req *sla = ctx->sla ? sla_live_on_batch(ctx->sla, env->batch) : NULL;
		stage_timer_mark(&timer, STAGE_SLA);
		enum store_result res = store_batch(ctx->st, env->batch, err, sizeof(err));
		sla_submit_readings(ctx->st, sla);
		stage_timer_mark(&timer, STAGE_COMMIT);
		rc = reply_stored(ctx, env->batch, res, err, reply, reply_len);
	} else {
		struct worker_reader w;
		worker_reader_init(&w, ctx, store);
		rc = answer_request(ctx, store ? &w.q : NULL, env, reply, reply_len);
		stage_timer_mark(&timer, STAGE_QUERY);
	}
	wire_free(env);
	stage_timer_sent(&timer);
	return rc;
}

/* ---- the asynchronous server -------------------------------------------------- */

/* A decoded batch is thousands of small allocations that all die together
 * once it is acknowledged: a per-request arena makes them a pointer bump
 * and one reset. The first chunk is kept between requests. */
#define ARENA_CHUNK (256u << 10)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;
	ProtobufCAllocator alloc;
};

static void *arena_alloc(void *arg, size_t size)
{
	struct arena *a = arg;
	size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	struct arena_chunk *c = a->head;
	if (!c || c->used + size > c->size) {
		size_t want = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		struct arena_chunk *n = malloc(sizeof(*n) + want);
		if (!n)
			return NULL;
		n->used = 0;
		n->size = want;
		n->next = c;
		a->head = c = n;
	}
	void *p = (char *)c->data + c->used;
	c->used += size;
	return p;
}

static void arena_free(void *arg, void *p)
{
	(void)arg;
	(void)p;
}

static void arena_init(struct arena *a)
{
	a->head = NULL;
	a->alloc.alloc = arena_alloc;
	a->alloc.free = arena_free;
	a->alloc.allocator_data = a;
}

/* Keeps the oldest chunk (the usual request fits in it), empty. */
static void arena_reset(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c && c->next) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	if (c)
		c->used = 0;
	a->head = c;
}

static void arena_destroy(struct arena *a)
{
	arena_reset(a);
	free(a->head);
	a->head = NULL;
}

enum conn_state { CONN_RECV, CONN_WORK, CONN_STORE, CONN_SEND };

struct server;

/* One request in flight: an nng context and its aio. */
struct conn {
	struct server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	enum conn_state state;
	nng_msg *msg;
	Vigil__Envelope *env; /* in arena */
	struct arena arena;
	struct store_req req;
	struct stage_timer timer;
	struct conn *next;
};

struct server {
	nng_socket sock;
	struct server_ctx *ctx;
	struct conn conns[SERVER_CONTEXTS];
	pthread_t workers[SERVER_MAX_WORKERS];
	unsigned n_workers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct conn *head, *tail; /* received, waiting for a worker */
	int stopping;
	int torn_down;     /* teardown_main finished */
	unsigned in_store; /* batches the writer has not answered yet */
};

static void conn_send(struct conn *c, uint8_t *buf, size_t len)
{
	nng_msg *m;
	if (!buf || nng_msg_alloc(&m, len) != 0) {
		free(buf);
		log_error("out of memory building a reply; the sender will retry");
		c->state = CONN_RECV;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	memcpy(nng_msg_body(m), buf, len);
	free(buf);
	c->state = CONN_SEND;
	nng_aio_set_msg(c->aio, m);
	nng_ctx_send(c->ctx, c->aio);
}

/* Called by the writer thread once the batch's commit is done. */
static void on_stored(struct store_req *r, enum store_result res, const char *err)
{
	struct conn *c = r->arg;
	uint8_t *buf = NULL;
	size_t len = 0;
	stage_timer_mark(&c->timer, STAGE_COMMIT);
	if (reply_stored(c->srv->ctx, c->env->batch, res, err, &buf, &len) < 0)
		buf = NULL;
	c->env = NULL;
	arena_reset(&c->arena);
	conn_send(c, buf, len);
	pthread_mutex_lock(&c->srv->mu);
	c->srv->in_store--;
	pthread_cond_broadcast(&c->srv->cv);
	pthread_mutex_unlock(&c->srv->mu);
}

static void work_on(struct conn *c, const struct query_reader *reader)
{
	struct server *s = c->srv;
	struct server_ctx *ctx = s->ctx;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = 0;
	stage_timer_mark(&c->timer, STAGE_RECEIVE);
	Vigil__Envelope *env = decode(ctx, &c->arena.alloc, nng_msg_body(c->msg), nng_msg_len(c->msg), &buf, &len, &rc);
	nng_msg_free(c->msg);
	c->msg = NULL;
	stage_timer_mark(&c->timer, STAGE_DECODE);
	if (env && env->body_case == VIGIL__ENVELOPE__BODY_BATCH) {
		c->env = env;
		memset(&c->req, 0, sizeof(c->req));
		c->req.batch = env->batch;
		c->req.done = on_stored;
		c->req.arg = c;
		c->state = CONN_STORE;
		pthread_mutex_lock(&s->mu);
		s->in_store++;
		pthread_mutex_unlock(&s->mu);
		/* The SLA checks read the batch before it is handed over: once
		 * its commit is acknowledged its memory is reused. Their
		 * readings follow the batch, so the store knows its VMs. */
		struct store_req *sla = ctx->sla ? sla_live_on_batch(ctx->sla, env->batch) : NULL;
		stage_timer_mark(&c->timer, STAGE_SLA);
		store_submit(ctx->st, &c->req);
		sla_submit_readings(ctx->st, sla);
		return;
	}
	if (env) {
		rc = answer_request(ctx, reader, env, &buf, &len);
		stage_timer_mark(&c->timer, STAGE_QUERY);
	}
	arena_reset(&c->arena);
	conn_send(c, rc < 0 ? NULL : buf, len);
}

static void *worker_main(void *arg)
{
	struct server *s = arg;
	char err[512];
	struct store_reader *store = NULL;
	struct worker_reader w;
	/* Queries read committed data through the worker's own connection. */
	if (store_reader_open(&store, s->ctx->db_path, err, sizeof(err)) < 0)
		log_error("worker: cannot open the database for queries: %s", err);
	worker_reader_init(&w, s->ctx, store);
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		struct conn *c = s->head;
		if (c) {
			s->head = c->next;
			if (!s->head)
				s->tail = NULL;
		}
		pthread_mutex_unlock(&s->mu);
		if (!c)
			break;
		work_on(c, store ? &w.q : NULL);
	}
	store_reader_close(store);
	return NULL;
}

static void conn_cb(void *arg)
{
	struct conn *c = arg;
	struct server *s = c->srv;
	int rv = nng_aio_result(c->aio);
	switch (c->state) {
	case CONN_RECV:
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			return;
		if (rv != 0) {
			log_warn("receive failed: %s", nng_strerror(rv));
			nng_ctx_recv(c->ctx, c->aio);
			return;
		}
		c->msg = nng_aio_get_msg(c->aio);
		c->state = CONN_WORK;
		server_stats_count_request(&s->ctx->stats);
		stage_timer_start(&c->timer, &s->ctx->stats);
		c->next = NULL;
		pthread_mutex_lock(&s->mu);
		if (s->stopping) {
			/* Unanswered: the sender retries against the next collector. */
			pthread_mutex_unlock(&s->mu);
			return;
		}
		if (s->tail)
			s->tail->next = c;
		else
			s->head = c;
		s->tail = c;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		return;
	case CONN_SEND:
		stage_timer_sent(&c->timer);
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio));
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
				return;
			log_warn("sending a reply failed: %s (the sender will retry)", nng_strerror(rv));
		}
		c->state = CONN_RECV;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	default:
		return;
	}
}

static int open_listener(struct server *s)
{
	int rv;
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		log_error("opening the reply socket: %s", nng_strerror(rv));
		return -1;
	}
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, WIRE_MAX_MESSAGE);
	if ((rv = nng_listen(s->sock, s->ctx->url, NULL, 0)) != 0) {
		log_error("cannot listen on %s: %s", s->ctx->url, nng_strerror(rv));
		nng_close(s->sock);
		return -1;
	}
	return 0;
}

static int start_contexts(struct server *s)
{
	for (int i = 0; i < SERVER_CONTEXTS; i++) {
		struct conn *c = &s->conns[i];
		c->srv = s;
		arena_init(&c->arena);
		int rv = nng_aio_alloc(&c->aio, conn_cb, c);
		if (rv == 0 && (rv = nng_ctx_open(&c->ctx, s->sock)) != 0) {
			nng_aio_free(c->aio);
			c->aio = NULL;
		}
		if (rv != 0) {
			log_error("setting up request context %d: %s", i, nng_strerror(rv));
			return -1;
		}
		c->state = CONN_RECV;
		nng_ctx_recv(c->ctx, c->aio);
	}
	return 0;
}

/* Closes every context and the socket once nothing is in flight: stops
 * every aio first (cancelling what is pending and waiting for its
 * callback), so nng is never inside a context's send when the socket goes. */
static void *teardown_main(void *arg)
{
	struct server *s = arg;
	for (int i = 0; i < SERVER_CONTEXTS; i++)
		if (s->conns[i].aio)
			nng_aio_stop(s->conns[i].aio);
	for (int i = 0; i < SERVER_CONTEXTS; i++) {
		struct conn *c = &s->conns[i];
		if (!c->aio)
			continue;
		nng_ctx_close(c->ctx);
		nng_aio_free(c->aio);
		if (c->msg)
			nng_msg_free(c->msg);
		arena_destroy(&c->arena);
	}
	nng_close(s->sock);
	pthread_mutex_lock(&s->mu);
	s->torn_down = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Waits for teardown_main up to SERVER_CLOSE_WAIT_MS. 1 when it finished. */
static int wait_torn_down(struct server *s)
{
	struct timespec deadline = clock_deadline_after_ms(SERVER_CLOSE_WAIT_MS);
	pthread_mutex_lock(&s->mu);
	int rc = 0;
	while (!s->torn_down && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
	int done = s->torn_down;
	pthread_mutex_unlock(&s->mu);
	return done;
}

/* Shutdown. 1. Stop taking requests; workers finish the one in hand and
 * exit. 2. Wait until the writer has answered every batch it holds, so each
 * acknowledgement leaves over the still-open socket. 3. Tear nng down.
 * nng 1.5 can hang for good in nng_close when clients are still sending
 * (nanomsg/nng#1813, fixed in 1.8), so step 3 runs on its own thread with a
 * deadline: past it, the server's memory is left to the exiting process,
 * and the store still flushes and closes. 1 when s may be freed. */
static int stop_all(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (unsigned i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i], NULL);
	pthread_mutex_lock(&s->mu);
	while (s->in_store)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	pthread_t t;
	if (pthread_create(&t, NULL, teardown_main, s) != 0) {
		teardown_main(s);
		return 1;
	}
	if (!wait_torn_down(s)) {
		pthread_detach(t);
		log_warn("the nng socket did not close within %d ms (an nng 1.5 shutdown hang); "
			 "every acknowledged batch is stored; stopping without it",
			 SERVER_CLOSE_WAIT_MS);
		return 0;
	}
	pthread_join(t, NULL);
	return 1;
}

int server_run(struct server_ctx *ctx, volatile sig_atomic_t *stop)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s) {
		log_error("out of memory");
		return -1;
	}
	s->ctx = ctx;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rc = -1;
	if (open_listener(s) < 0)
		goto out;
	unsigned n = ctx->workers ? ctx->workers : SERVER_DEFAULT_WORKERS;
	for (; s->n_workers < n; s->n_workers++)
		if (pthread_create(&s->workers[s->n_workers], NULL, worker_main, s) != 0) {
			log_error("cannot start worker thread: %s", strerror(errno));
			break;
		}
	if (s->n_workers == n && start_contexts(s) == 0) {
		server_stats_started(&ctx->stats, clock_realtime_ms());
		log_info("listening on %s (%u worker threads, %d requests in flight)", ctx->url, n, SERVER_CONTEXTS);
		rc = 0;
		while (!*stop) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			/* A host that went silent sends nothing to react to. */
			if (ctx->sla)
				sla_live_tick(ctx->sla, ctx->st);
		}
	}
	if (!stop_all(s))
		return rc;
out:
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	return rc;
}
