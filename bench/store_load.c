/* store_load: sends a synthetic trace to a collector over nng, as many
 * concurrent probes each waiting for its acknowledgement, and reports
 * samples per second end to end. Used by bench/store_load.sh, which also
 * measures the database's bytes per sample.
 *
 * The trace is bench/trace.c's, the one the store benchmark
 * (bench/store_bench.c) sends: H hosts x V VMs x M catalogue metrics (the
 * first M of its template list), one batch per host per interval, with
 * synthetic timestamps ending now. On a busy VM each CPU, disk and network
 * reading changes with probability --vary per interval, each memory
 * reading with --steady; idle VMs (--idle share) never change. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "rpc.h"
#include "trace.h"
#include "wire.h"

struct opts {
	const char *url;
	unsigned clients;
	struct trace_shape shape;
};

struct client {
	pthread_t thread;
	const struct opts *o;
	unsigned first, count; /* hosts */
	uint64_t samples, retries;
	int failed;
};

static int send_batch(struct client *c, nng_socket sock, const Vigil__Batch *b)
{
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	env.body_case = VIGIL__ENVELOPE__BODY_BATCH;
	env.batch = (Vigil__Batch *)b;
	uint8_t *buf;
	size_t len;
	if (wire_pack(&env, &buf, &len) < 0)
		return -1;
	for (int tries = 0; tries < 50; tries++) {
		char err[256];
		Vigil__Envelope *reply = NULL;
		int rc = rpc_call_packed(sock, buf, len, &reply, err, sizeof(err));
		int ok = rc == 0 && reply->body_case == VIGIL__ENVELOPE__BODY_ACK && reply->ack->seq == b->seq;
		if (reply)
			wire_free(reply);
		if (ok) {
			free(buf);
			return 0;
		}
		c->retries++;
	}
	free(buf);
	return -1;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	const struct opts *o = c->o;
	char err[256];
	nng_socket sock;
	if (rpc_open(&sock, o->url, 60000, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "store_load: %s\n", err);
		c->failed = 1;
		return NULL;
	}
	const struct trace_shape *shape = &o->shape;
	struct trace_host **hosts = calloc(c->count, sizeof(*hosts));
	for (unsigned i = 0; hosts && i < c->count; i++)
		if (!(hosts[i] = trace_host_new(shape, c->first + i)))
			c->failed = 1;
	if (!hosts)
		c->failed = 1;
	for (uint64_t seq = 1; seq <= shape->intervals && !c->failed; seq++) {
		for (unsigned i = 0; i < c->count; i++) {
			const Vigil__Batch *b = trace_host_next(hosts[i], seq);
			if (send_batch(c, sock, b) < 0) {
				fprintf(stderr, "store_load: host %u batch %llu was not acknowledged\n", c->first + i,
					(unsigned long long)seq);
				c->failed = 1;
				break;
			}
			c->samples += trace_batch_samples(shape);
		}
	}
	for (unsigned i = 0; hosts && i < c->count; i++)
		trace_host_free(hosts[i]);
	free(hosts);
	nng_close(sock);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "Usage: store_load --url URL [--hosts H] [--vms V] [--metrics M] [--intervals N]\n"
			"                  [--interval-ms MS] [--clients C] [--idle F] [--vary F] [--steady F] [--seed S]\n"
			"                  [--first-host I]\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "url", 1, NULL, 'u' },       { "hosts", 1, NULL, 'H' },  { "vms", 1, NULL, 'v' },
		{ "metrics", 1, NULL, 'm' },   { "intervals", 1, NULL, 'n' }, { "clients", 1, NULL, 'c' },
		{ "idle", 1, NULL, 'i' },      { "vary", 1, NULL, 'r' },   { "steady", 1, NULL, 's' },
		{ "seed", 1, NULL, 'S' },      { "interval-ms", 1, NULL, 'I' }, { "first-host", 1, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_shape *s = &o->shape;
	*o = (struct opts){ .url = NULL, .clients = 10 };
	trace_shape_defaults(s);
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'u': o->url = optarg; break;
		case 'H': s->hosts = (uint32_t)atoi(optarg); break;
		case 'v': s->vms_per_host = (uint32_t)atoi(optarg); break;
		case 'm': s->metrics = (uint32_t)atoi(optarg); break;
		case 'n': s->intervals = (uint32_t)atoi(optarg); break;
		case 'c': o->clients = (unsigned)atoi(optarg); break;
		case 'i': s->idle_share = atof(optarg); break;
		case 'r': s->vary_rate = atof(optarg); break;
		case 's': s->steady_rate = atof(optarg); break;
		case 'S': s->seed = strtoull(optarg, NULL, 10); break;
		case 'I': s->interval_ms = (uint32_t)atoi(optarg); break;
		case 'f': s->first_host = (uint32_t)atoi(optarg); break;
		default: return -1;
		}
	}
	trace_shape_end_at(s, clock_realtime_ms());
	char err[256];
	if (trace_shape_check(s, err, sizeof(err)) < 0) {
		fprintf(stderr, "store_load: %s\n", err);
		return -1;
	}
	if (!o->url || !o->clients)
		return -1;
	if (o->clients > s->hosts)
		o->clients = s->hosts;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse(argc, argv, &o) < 0) {
		usage();
		return 2;
	}
	struct client *cs = calloc(o.clients, sizeof(*cs));
	unsigned per = o.shape.hosts / o.clients, extra = o.shape.hosts % o.clients, next = 0;
	uint64_t t0 = clock_monotonic_ns();
	for (unsigned i = 0; i < o.clients; i++) {
		cs[i].o = &o;
		cs[i].first = next;
		cs[i].count = per + (i < extra);
		next += cs[i].count;
		pthread_create(&cs[i].thread, NULL, client_main, &cs[i]);
	}
	uint64_t samples = 0, retries = 0;
	int failed = 0;
	for (unsigned i = 0; i < o.clients; i++) {
		pthread_join(cs[i].thread, NULL);
		samples += cs[i].samples;
		retries += cs[i].retries;
		failed |= cs[i].failed;
	}
	double secs = (double)(clock_monotonic_ns() - t0) / 1e9;
	printf("samples %llu seconds %.3f samples_per_s %.0f retries %llu\n", (unsigned long long)samples, secs,
	       (double)samples / secs, (unsigned long long)retries);
	free(cs);
	return failed ? 1 : 0;
}
