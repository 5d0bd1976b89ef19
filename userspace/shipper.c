#include "shipper.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "rpc.h"
#include "wire.h"

#define REPLY_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 8000

struct queued_batch {
	uint64_t seq;
	uint8_t *buf;
	size_t len;
};

struct shipper {
	nng_socket sock;
	char url[256];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;   /* queue grew or shrank, or stop was asked */
	struct queued_batch *ring;
	size_t cap, head, count;
	int stop;
	int in_flight;            /* the head is being sent; its buffer is in use */
	int collector_down;       /* a failure was logged; log the recovery */
	uint64_t dropped;
};

/* What to do with the batch at the head of the queue after one attempt. */
enum attempt_result { ATTEMPT_ACKED, ATTEMPT_REJECTED, ATTEMPT_RETRY };

static enum attempt_result interpret_reply(struct shipper *sh, const struct queued_batch *qb,
					   const Vigil__Envelope *reply)
{
	if (reply->body_case == VIGIL__ENVELOPE__BODY_ACK && reply->ack->seq == qb->seq)
		return ATTEMPT_ACKED;
	if (reply->body_case == VIGIL__ENVELOPE__BODY_ERROR) {
		const Vigil__Error *e = reply->error;
		/* The collector could not commit: the batch is fine, try again. */
		if (e->code == VIGIL__ERROR__CODE__STORAGE) {
			log_warn("collector %s could not store batch %llu: %s; will retry", sh->url,
				 (unsigned long long)qb->seq, e->message);
			return ATTEMPT_RETRY;
		}
		/* Resending a batch the collector finds malformed cannot succeed. */
		log_error("collector %s rejected batch %llu: %s; dropping it", sh->url, (unsigned long long)qb->seq,
			  e->message);
		return ATTEMPT_REJECTED;
	}
	log_warn("collector %s sent an unexpected reply to batch %llu; will retry", sh->url,
		 (unsigned long long)qb->seq);
	return ATTEMPT_RETRY;
}

static enum attempt_result send_one(struct shipper *sh, const struct queued_batch *qb)
{
	char err[512];
	Vigil__Envelope *reply;
	if (rpc_call_packed(sh->sock, qb->buf, qb->len, &reply, err, sizeof(err)) < 0) {
		if (!sh->collector_down)
			log_warn("collector %s: %s; keeping batches queued and retrying", sh->url, err);
		sh->collector_down = 1;
		return ATTEMPT_RETRY;
	}
	if (sh->collector_down)
		log_info("collector %s reachable again", sh->url);
	sh->collector_down = 0;
	enum attempt_result r = interpret_reply(sh, qb, reply);
	wire_free(reply);
	return r;
}

static void pop_head(struct shipper *sh)
{
	free(sh->ring[sh->head].buf);
	sh->head = (sh->head + 1) % sh->cap;
	sh->count--;
	pthread_cond_broadcast(&sh->changed);
}

static void wait_ms_locked(struct shipper *sh, int ms)
{
	struct timespec until = clock_deadline_after_ms(ms);
	pthread_cond_timedwait(&sh->changed, &sh->lock, &until);
}

static void *ship_loop(void *arg)
{
	struct shipper *sh = arg;
	int backoff = BACKOFF_MIN_MS;
	pthread_mutex_lock(&sh->lock);
	while (!sh->stop) {
		if (sh->count == 0) {
			pthread_cond_wait(&sh->changed, &sh->lock);
			continue;
		}
		/* Send a copy of the head's identity; the buffer stays owned by
		 * the ring, and only this thread ever pops. */
		struct queued_batch head = sh->ring[sh->head];
		sh->in_flight = 1;
		pthread_mutex_unlock(&sh->lock);
		enum attempt_result r = send_one(sh, &head);
		pthread_mutex_lock(&sh->lock);
		sh->in_flight = 0;
		if (r == ATTEMPT_RETRY) {
			wait_ms_locked(sh, backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		backoff = BACKOFF_MIN_MS;
		pop_head(sh);
	}
	pthread_mutex_unlock(&sh->lock);
	return NULL;
}

int shipper_start(struct shipper **out, const char *url, size_t max_queued, char *err, size_t errlen)
{
	struct shipper *sh = calloc(1, sizeof(*sh));
	if (max_queued < 2)
		max_queued = 2; /* room for the batch in flight and one more */
	if (!sh || !(sh->ring = calloc(max_queued, sizeof(*sh->ring)))) {
		free(sh);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sh->cap = max_queued;
	snprintf(sh->url, sizeof(sh->url), "%s", url);
	if (rpc_open(&sh->sock, url, REPLY_TIMEOUT_MS, 0, err, errlen) < 0) {
		free(sh->ring);
		free(sh);
		return -1;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sh->changed, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&sh->lock, NULL);
	if (pthread_create(&sh->thread, NULL, ship_loop, sh) != 0) {
		snprintf(err, errlen, "cannot start the shipping thread");
		nng_close(sh->sock);
		free(sh->ring);
		free(sh);
		return -1;
	}
	*out = sh;
	return 0;
}

/* Makes room by dropping the oldest batch that is not being sent. The batch
 * in flight keeps its place at the head: it is moved over the victim. */
static void drop_oldest_idle(struct shipper *sh)
{
	size_t victim = sh->in_flight ? (sh->head + 1) % sh->cap : sh->head;
	sh->dropped++;
	log_warn("send queue full (%zu batches); dropped batch %llu, %llu dropped so far", sh->cap,
		 (unsigned long long)sh->ring[victim].seq, (unsigned long long)sh->dropped);
	if (sh->in_flight) {
		free(sh->ring[victim].buf);
		sh->ring[victim] = sh->ring[sh->head];
		sh->head = victim;
		sh->count--;
	} else {
		pop_head(sh);
	}
}

void shipper_enqueue(struct shipper *sh, uint64_t seq, uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&sh->lock);
	if (sh->count == sh->cap)
		drop_oldest_idle(sh);
	sh->ring[(sh->head + sh->count) % sh->cap] = (struct queued_batch){ seq, buf, len };
	sh->count++;
	pthread_cond_broadcast(&sh->changed);
	pthread_mutex_unlock(&sh->lock);
}

size_t shipper_drain(struct shipper *sh, int timeout_ms)
{
	int64_t start = clock_monotonic_ms();
	pthread_mutex_lock(&sh->lock);
	while (sh->count > 0) {
		int64_t elapsed = clock_monotonic_ms() - start;
		if (elapsed >= timeout_ms)
			break;
		wait_ms_locked(sh, (int)(timeout_ms - elapsed));
	}
	size_t left = sh->count;
	pthread_mutex_unlock(&sh->lock);
	return left;
}

void shipper_stop(struct shipper *sh)
{
	if (!sh)
		return;
	pthread_mutex_lock(&sh->lock);
	sh->stop = 1;
	pthread_cond_broadcast(&sh->changed);
	pthread_mutex_unlock(&sh->lock);
	/* Closing the socket aborts a send or receive in progress. */
	nng_close(sh->sock);
	pthread_join(sh->thread, NULL);
	if (sh->count)
		log_warn("stopping with %zu unacknowledged batch(es) dropped", sh->count);
	while (sh->count)
		pop_head(sh);
	pthread_mutex_destroy(&sh->lock);
	pthread_cond_destroy(&sh->changed);
	free(sh->ring);
	free(sh);
}

