#include "sim_probes.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "clock.h"
#include "wire.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define PROGRESS_EVERY_MS 200
/* After max_seconds, how long in-flight batches may still take. */
#define DRAIN_GRACE_NS (10ull * 1000000000ull)

enum probe_phase { PHASE_SEND, PHASE_RECV, PHASE_BACKOFF, PHASE_DONE };

struct run;

struct probe {
	struct run *run;
	nng_socket sock;
	nng_aio *aio;
	int connected;
	enum probe_phase phase;
	struct trace_host *gen;
	nng_msg *batch;           /* the current batch, kept for resends */
	uint64_t seq;
	uint64_t first_send_ns;   /* of the current batch */
	uint64_t last_ack_ns;
	uint32_t acked;
	int backoff_ms;
	uint64_t batches, samples, duplicates, storage_retries, timeouts, rejected;
	double *latency_us;
	size_t n_latency, cap_latency;
};

struct run {
	const struct load_spec *spec;
	uint64_t start_ns, min_end_ns, max_end_ns;
	uint64_t samples_acked;   /* atomic: read by the waiting thread */
	int stopping;             /* atomic: the run is being torn down */
	int stopped_early;
	pthread_mutex_t lock;
	pthread_cond_t finished;
	uint32_t running;
	char first_rejection[256];
	struct probe *probes;
};

static void probe_finish(struct probe *p)
{
	struct run *r = p->run;
	p->phase = PHASE_DONE;
	pthread_mutex_lock(&r->lock);
	r->running--;
	pthread_cond_broadcast(&r->finished);
	pthread_mutex_unlock(&r->lock);
}

/* Generates and packs the probe's next batch; -1 when the trace is over. */
static int probe_prepare(struct probe *p)
{
	const struct load_spec *s = p->run->spec;
	uint64_t seq = s->seq_base + trace_host_position(p->gen) + 1;
	const Vigil__Batch *b = trace_host_next(p->gen, seq);
	if (!b)
		return -1;
	size_t size = trace_envelope_size(b);
	if (nng_msg_alloc(&p->batch, size) != 0)
		return -1;
	trace_envelope_pack(b, nng_msg_body(p->batch));
	p->seq = seq;
	p->first_send_ns = 0;
	return 0;
}

static void probe_send(struct probe *p)
{
	nng_msg *copy;
	if (nng_msg_dup(&copy, p->batch) != 0) {
		probe_finish(p);
		return;
	}
	if (!p->first_send_ns)
		p->first_send_ns = clock_monotonic_ns();
	p->phase = PHASE_SEND;
	nng_aio_set_msg(p->aio, copy);
	nng_aio_set_timeout(p->aio, p->run->spec->reply_timeout_ms);
	nng_send_aio(p->sock, p->aio);
}

static void probe_backoff(struct probe *p)
{
	p->phase = PHASE_BACKOFF;
	nng_sleep_aio(p->backoff_ms, p->aio);
	p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

/* Resends after a backoff, unless the run is stopping. */
static void probe_retry(struct probe *p)
{
	if (__atomic_load_n(&p->run->stopping, __ATOMIC_RELAXED))
		probe_finish(p);
	else
		probe_backoff(p);
}

static void record_latency(struct probe *p, uint64_t now)
{
	if (p->n_latency == p->cap_latency) {
		size_t cap = p->cap_latency ? 2 * p->cap_latency : 64;
		double *grown = realloc(p->latency_us, cap * sizeof(*grown));
		if (!grown)
			return;
		p->latency_us = grown;
		p->cap_latency = cap;
	}
	p->latency_us[p->n_latency++] = (double)(now - p->first_send_ns) / 1e3;
}

/* Whether the probe should send another batch after an acknowledgement. */
static int probe_wants_more(const struct probe *p, uint64_t now)
{
	const struct run *r = p->run;
	if (__atomic_load_n(&r->stopping, __ATOMIC_RELAXED) || now >= r->max_end_ns)
		return 0;
	return p->acked < r->spec->min_intervals || now < r->min_end_ns;
}

static void probe_acked(struct probe *p, int duplicate)
{
	uint64_t now = clock_monotonic_ns();
	uint64_t n = trace_batch_samples(&p->run->spec->shape);
	record_latency(p, now);
	p->last_ack_ns = now;
	p->acked++;
	p->backoff_ms = BACKOFF_MIN_MS;
	/* A repeat means an earlier send of this batch was stored already. */
	if (duplicate)
		p->duplicates++;
	p->batches++;
	p->samples += n;
	__atomic_fetch_add(&p->run->samples_acked, n, __ATOMIC_RELAXED);
	nng_msg_free(p->batch);
	p->batch = NULL;
	if (!probe_wants_more(p, now) || probe_prepare(p) < 0) {
		probe_finish(p);
		return;
	}
	probe_send(p);
}

static void note_rejection(struct probe *p, const char *message)
{
	struct run *r = p->run;
	p->rejected++;
	pthread_mutex_lock(&r->lock);
	if (!r->first_rejection[0])
		snprintf(r->first_rejection, sizeof(r->first_rejection), "batch %llu: %s",
			 (unsigned long long)p->seq, message);
	pthread_mutex_unlock(&r->lock);
}

/* What the collector said to the batch in flight. */
static void probe_reply(struct probe *p, nng_msg *msg)
{
	char err[256];
	Vigil__Error__Code code;
	Vigil__Envelope *env =
		wire_unpack(nng_msg_body(msg), nng_msg_len(msg), clock_realtime_ms(), &code, err, sizeof(err));
	nng_msg_free(msg);
	if (env && env->body_case == VIGIL__ENVELOPE__BODY_ACK && env->ack->seq == p->seq) {
		int duplicate = env->ack->duplicate;
		wire_free(env);
		probe_acked(p, duplicate);
		return;
	}
	if (env && env->body_case == VIGIL__ENVELOPE__BODY_ERROR) {
		if (env->error->code == VIGIL__ERROR__CODE__STORAGE) {
			p->storage_retries++;
			wire_free(env);
			probe_retry(p);
			return;
		}
		note_rejection(p, env->error->message);
		wire_free(env);
		probe_finish(p);
		return;
	}
	/* Undecodable or unexpected: resend, as the real probe does. */
	wire_free(env);
	probe_retry(p);
}

static void probe_callback(void *arg)
{
	struct probe *p = arg;
	int rv = nng_aio_result(p->aio);
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		/* Torn down. A failed send leaves the message with us. */
		if (p->phase == PHASE_SEND)
			nng_msg_free(nng_aio_get_msg(p->aio));
		probe_finish(p);
		return;
	}
	switch (p->phase) {
	case PHASE_SEND:
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(p->aio));
			p->timeouts++;
			probe_retry(p);
			return;
		}
		p->phase = PHASE_RECV;
		nng_recv_aio(p->sock, p->aio);
		return;
	case PHASE_RECV:
		if (rv != 0) {
			p->timeouts++;
			probe_retry(p);
			return;
		}
		probe_reply(p, nng_aio_get_msg(p->aio));
		return;
	case PHASE_BACKOFF:
		if (__atomic_load_n(&p->run->stopping, __ATOMIC_RELAXED))
			probe_finish(p);
		else
			probe_send(p);
		return;
	case PHASE_DONE:
		return;
	}
}

static int probe_connect(struct probe *p, uint32_t index, char *err, size_t errlen)
{
	const struct load_spec *s = p->run->spec;
	int rv;
	if (!(p->gen = trace_host_new(&s->shape, index))) {
		snprintf(err, errlen, "out of memory for probe %u's trace", index);
		return -1;
	}
	if ((rv = nng_req0_open(&p->sock)) != 0) {
		snprintf(err, errlen, "probe %u: opening a request socket: %s", index, nng_strerror(rv));
		return -1;
	}
	p->connected = 1;
	/* Resending is the probe's decision, as in common/rpc.c. */
	nng_socket_set_ms(p->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(p->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(p->sock, NNG_OPT_RECONNMAXT, 1000);
	if ((rv = nng_dial(p->sock, s->url, NULL, 0)) != 0) {
		snprintf(err, errlen, "probe %u: cannot reach the collector at %s: %s", index, s->url, nng_strerror(rv));
		return -1;
	}
	if ((rv = nng_aio_alloc(&p->aio, probe_callback, p)) != 0) {
		snprintf(err, errlen, "probe %u: %s", index, nng_strerror(rv));
		return -1;
	}
	p->backoff_ms = BACKOFF_MIN_MS;
	return 0;
}

static void probe_release(struct probe *p)
{
	if (p->aio)
		nng_aio_stop(p->aio);
	if (p->connected)
		nng_close(p->sock);
	if (p->aio)
		nng_aio_free(p->aio);
	if (p->batch)
		nng_msg_free(p->batch);
	trace_host_free(p->gen);
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Waits until every probe finished, reporting progress; gives up (and
 * stops the rest) well after max_seconds so the run is always bounded. */
static void wait_for_probes(struct run *r)
{
	const struct load_spec *s = r->spec;
	uint64_t give_up = r->max_end_ns + (uint64_t)s->reply_timeout_ms * 1000000ull + DRAIN_GRACE_NS;
	pthread_mutex_lock(&r->lock);
	while (r->running > 0 && clock_monotonic_ns() < give_up) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += PROGRESS_EVERY_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->finished, &r->lock, &until);
		pthread_mutex_unlock(&r->lock);
		if (s->progress && !r->stopped_early &&
		    s->progress(__atomic_load_n(&r->samples_acked, __ATOMIC_RELAXED), s->progress_arg)) {
			/* Probes finish after their batch in flight. */
			r->stopped_early = 1;
			__atomic_store_n(&r->stopping, 1, __ATOMIC_RELAXED);
		}
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	__atomic_store_n(&r->stopping, 1, __ATOMIC_RELAXED);
}

static void collect(struct run *r, uint32_t n, struct load_result *out)
{
	uint64_t last_ack = r->start_ns;
	size_t total_latency = 0;
	for (uint32_t i = 0; i < n; i++)
		total_latency += r->probes[i].n_latency;
	out->latency_us = malloc((total_latency ? total_latency : 1) * sizeof(double));
	for (uint32_t i = 0; i < n; i++) {
		struct probe *p = &r->probes[i];
		out->batches += p->batches;
		out->samples += p->samples;
		out->duplicates += p->duplicates;
		out->storage_retries += p->storage_retries;
		out->timeouts += p->timeouts;
		out->rejected += p->rejected;
		if (p->last_ack_ns > last_ack)
			last_ack = p->last_ack_ns;
		if (out->latency_us && p->n_latency) {
			memcpy(out->latency_us + out->n_latency, p->latency_us, p->n_latency * sizeof(double));
			out->n_latency += p->n_latency;
		}
		free(p->latency_us);
	}
	out->elapsed_s = (double)(last_ack - r->start_ns) / 1e9;
	out->stopped_early = r->stopped_early;
	snprintf(out->first_rejection, sizeof(out->first_rejection), "%s", r->first_rejection);
}

int load_run(const struct load_spec *spec, struct load_result *out, char *err, size_t errlen)
{
	uint32_t n = spec->shape.hosts;
	struct run r = { .spec = spec };
	memset(out, 0, sizeof(*out));
	if (trace_shape_check(&spec->shape, err, errlen) < 0)
		return -1;
	if (!(r.probes = calloc(n, sizeof(*r.probes)))) {
		snprintf(err, errlen, "out of memory for %u probes", n);
		return -1;
	}
	pthread_mutex_init(&r.lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r.finished, &ca);
	pthread_condattr_destroy(&ca);

	int rc = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		r.probes[i].run = &r;
		rc = probe_connect(&r.probes[i], i, err, errlen);
	}
	if (rc == 0) {
		double cpu0 = cpu_seconds();
		r.start_ns = clock_monotonic_ns();
		r.min_end_ns = r.start_ns + (uint64_t)(spec->min_seconds * 1e9);
		r.max_end_ns = r.start_ns + (uint64_t)(spec->max_seconds * 1e9);
		r.running = n;
		for (uint32_t i = 0; i < n; i++) {
			if (probe_prepare(&r.probes[i]) < 0)
				probe_finish(&r.probes[i]);
			else
				probe_send(&r.probes[i]);
		}
		wait_for_probes(&r);
		for (uint32_t i = 0; i < n; i++)
			probe_release(&r.probes[i]);
		out->sender_cpu_s = cpu_seconds() - cpu0;
		collect(&r, n, out);
	} else {
		for (uint32_t i = 0; i < n; i++)
			probe_release(&r.probes[i]);
	}
	pthread_cond_destroy(&r.finished);
	pthread_mutex_destroy(&r.lock);
	free(r.probes);
	return rc;
}

void load_result_free(struct load_result *r)
{
	free(r->latency_us);
	r->latency_us = NULL;
	r->n_latency = 0;
}
