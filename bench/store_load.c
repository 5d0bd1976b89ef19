/* store_load: sends a synthetic trace to a collector over nng, as many
 * concurrent probes each waiting for its acknowledgement, and reports
 * samples per second end to end. Used by bench/store_load.sh, which also
 * measures the database's bytes per sample.
 *
 * Shape: H hosts x V VMs x M metrics (the first M of a 30-entry list in
 * the catalogue's families), one batch per host per interval, with
 * synthetic timestamps ending now. On a busy VM each CPU, disk and network
 * reading changes with probability --vary per interval, each memory
 * reading with --steady; idle VMs (--idle share) never change. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "rpc.h"
#include "wire.h"

struct metric_t {
	const char *name, *tag_key, *tag_value;
	int varying;
	int pct; /* full-precision percentage, else whole counts */
	double scale;
};

static const struct metric_t metrics[] = {
	{ "cpu.used_pct", NULL, NULL, 1, 1, 100 },	       { "cpu.wait_pct", NULL, NULL, 1, 1, 10 },
	{ "cpu.preempted", NULL, NULL, 1, 0, 1000 },	       { "cpu.used_pct", "vcpu", "0", 1, 1, 80 },
	{ "cpu.wait_pct", "vcpu", "0", 1, 1, 8 },	       { "cpu.used_pct", "vcpu", "1", 1, 1, 80 },
	{ "cpu.wait_pct", "vcpu", "1", 1, 1, 8 },	       { "cpu.used_pct", "thread", "emulator", 1, 1, 5 },
	{ "mem.minor_faults", NULL, NULL, 1, 0, 3000 },      { "mem.major_faults", NULL, NULL, 0, 0, 3 },
	{ "mem.rss_bytes", NULL, NULL, 0, 0, 4e9 },	       { "mem.cgroup_bytes", NULL, NULL, 0, 0, 4e9 },
	{ "mem.configured_bytes", NULL, NULL, 0, 0, 8e9 },     { "mem.balloon_actual_bytes", NULL, NULL, 0, 0, 8e9 },
	{ "mem.balloon_unused_bytes", NULL, NULL, 0, 0, 2e9 }, { "mem.balloon_available_bytes", NULL, NULL, 0, 0, 6e9 },
	{ "mem.guest_swap_in_bytes", NULL, NULL, 0, 0, 1e7 },  { "mem.guest_swap_out_bytes", NULL, NULL, 0, 0, 1e7 },
	{ "mem.guest_major_faults", NULL, NULL, 0, 0, 1e5 },   { "disk.read_bytes", "dev", "vda", 1, 0, 4e6 },
	{ "disk.write_bytes", "dev", "vda", 1, 0, 4e6 },       { "disk.read_ops", "dev", "vda", 1, 0, 300 },
	{ "disk.write_ops", "dev", "vda", 1, 0, 300 },	       { "disk.read_lat_p50_us", "dev", "vda", 1, 0, 0 },
	{ "disk.write_lat_p50_us", "dev", "vda", 1, 0, 0 },    { "net.rx_bytes", "if", "vnet0", 1, 0, 5e6 },
	{ "net.tx_bytes", "if", "vnet0", 1, 0, 5e6 },	       { "net.rx_packets", "if", "vnet0", 1, 0, 5000 },
	{ "net.tx_packets", "if", "vnet0", 1, 0, 5000 },       { "net.rx_drops", "if", "vnet0", 0, 0, 2 },
};
#define N_METRICS (sizeof(metrics) / sizeof(metrics[0]))

struct opts {
	const char *url;
	unsigned hosts, vms, metrics, intervals, clients, interval_ms;
	double idle, vary, steady;
	uint64_t seed;
	int64_t t0;
};

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double unit(uint64_t *s)
{
	return (double)(rng(s) >> 11) * 0x1.0p-53;
}

static double draw(const struct metric_t *m, uint64_t *s)
{
	if (m->scale == 0) /* a latency bucket's middle */
		return 1.5 * exp2((double)(4 + rng(s) % 3));
	double v = m->scale * (0.25 + 1.5 * unit(s));
	return m->pct ? v : floor(v);
}

/* One host's batch, rebuilt in place every interval. */
struct host_gen {
	uint64_t rng;
	char name[32];
	Vigil__Batch batch;
	Vigil__VmSamples *vms, **vm_ptrs;
	Vigil__Sample *samples, **sample_ptrs;
	Vigil__Tag *tags, **tag_ptrs;
	char (*uuids)[40], (*names)[32];
	int *idle;
};

static void host_init(struct host_gen *h, const struct opts *o, unsigned index)
{
	size_t nv = o->vms, ns = nv * o->metrics;
	h->rng = o->seed * 1000003u + index;
	snprintf(h->name, sizeof(h->name), "load-h%04u", index);
	h->vms = calloc(nv, sizeof(*h->vms));
	h->vm_ptrs = calloc(nv, sizeof(*h->vm_ptrs));
	h->samples = calloc(ns, sizeof(*h->samples));
	h->sample_ptrs = calloc(ns, sizeof(*h->sample_ptrs));
	h->tags = calloc(ns, sizeof(*h->tags));
	h->tag_ptrs = calloc(ns, sizeof(*h->tag_ptrs));
	h->uuids = calloc(nv, sizeof(*h->uuids));
	h->names = calloc(nv, sizeof(*h->names));
	h->idle = calloc(nv, sizeof(*h->idle));
	vigil__batch__init(&h->batch);
	h->batch.host = h->name;
	h->batch.interval_ms = o->interval_ms;
	h->batch.n_vms = nv;
	h->batch.vms = h->vm_ptrs;
	for (size_t v = 0; v < nv; v++) {
		Vigil__VmSamples *vm = &h->vms[v];
		vigil__vm_samples__init(vm);
		snprintf(h->uuids[v], 40, "%08x-0000-4000-8000-%012x", index, (unsigned)v);
		snprintf(h->names[v], 32, "load-h%04u-vm%04zu", index, v);
		vm->uuid = h->uuids[v];
		vm->name = h->names[v];
		vm->state = "running";
		vm->source = "libvirt";
		vm->vcpus = 2;
		vm->n_samples = o->metrics;
		vm->samples = &h->sample_ptrs[v * o->metrics];
		h->idle[v] = unit(&h->rng) < o->idle;
		h->vm_ptrs[v] = vm;
		for (size_t m = 0; m < o->metrics; m++) {
			size_t i = v * o->metrics + m;
			Vigil__Sample *smp = &h->samples[i];
			vigil__sample__init(smp);
			smp->metric = (char *)metrics[m].name;
			if (metrics[m].tag_key) {
				vigil__tag__init(&h->tags[i]);
				h->tags[i].key = (char *)metrics[m].tag_key;
				h->tags[i].value = (char *)metrics[m].tag_value;
				h->tag_ptrs[i] = &h->tags[i];
				smp->tags = &h->tag_ptrs[i];
				smp->n_tags = 1;
			}
			smp->value = draw(&metrics[m], &h->rng);
			h->sample_ptrs[i] = smp;
		}
	}
}

static void host_advance(struct host_gen *h, const struct opts *o, unsigned k)
{
	h->batch.t_start_ms = o->t0 + (int64_t)k * o->interval_ms;
	h->batch.t_end_ms = h->batch.t_start_ms + o->interval_ms;
	for (size_t v = 0; v < o->vms && k > 0; v++) {
		if (h->idle[v])
			continue;
		for (size_t m = 0; m < o->metrics; m++) {
			double p = metrics[m].varying ? o->vary : o->steady;
			if (unit(&h->rng) < p)
				h->samples[v * o->metrics + m].value = draw(&metrics[m], &h->rng);
		}
	}
}

struct client {
	pthread_t thread;
	const struct opts *o;
	unsigned first, count; /* hosts */
	uint64_t samples, retries;
	int failed;
};

static int send_batch(struct client *c, nng_socket sock, Vigil__Batch *b)
{
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	env.body_case = VIGIL__ENVELOPE__BODY_BATCH;
	env.batch = b;
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
	struct host_gen *hosts = calloc(c->count, sizeof(*hosts));
	for (unsigned i = 0; i < c->count; i++)
		host_init(&hosts[i], o, c->first + i);
	for (unsigned k = 0; k < o->intervals && !c->failed; k++) {
		for (unsigned i = 0; i < c->count; i++) {
			host_advance(&hosts[i], o, k);
			hosts[i].batch.seq = (uint64_t)k + 1;
			if (send_batch(c, sock, &hosts[i].batch) < 0) {
				fprintf(stderr, "store_load: host %u batch %u was not acknowledged\n", c->first + i, k);
				c->failed = 1;
				break;
			}
			c->samples += (uint64_t)o->vms * o->metrics;
		}
	}
	nng_close(sock);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "Usage: store_load --url URL [--hosts H] [--vms V] [--metrics M] [--intervals N]\n"
			"                  [--interval-ms MS] [--clients C] [--idle F] [--vary F] [--steady F] [--seed S]\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "url", 1, NULL, 'u' },       { "hosts", 1, NULL, 'H' },  { "vms", 1, NULL, 'v' },
		{ "metrics", 1, NULL, 'm' },   { "intervals", 1, NULL, 'n' }, { "clients", 1, NULL, 'c' },
		{ "idle", 1, NULL, 'i' },      { "vary", 1, NULL, 'r' },   { "steady", 1, NULL, 's' },
		{ "seed", 1, NULL, 'S' },      { "interval-ms", 1, NULL, 'I' }, { NULL, 0, NULL, 0 },
	};
	*o = (struct opts){ NULL, 10, 100, 30, 60, 10, 1000, 0.5, 0.8, 0.01, 1, 0 };
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'u': o->url = optarg; break;
		case 'H': o->hosts = (unsigned)atoi(optarg); break;
		case 'v': o->vms = (unsigned)atoi(optarg); break;
		case 'm': o->metrics = (unsigned)atoi(optarg); break;
		case 'n': o->intervals = (unsigned)atoi(optarg); break;
		case 'c': o->clients = (unsigned)atoi(optarg); break;
		case 'i': o->idle = atof(optarg); break;
		case 'r': o->vary = atof(optarg); break;
		case 's': o->steady = atof(optarg); break;
		case 'S': o->seed = strtoull(optarg, NULL, 10); break;
		case 'I': o->interval_ms = (unsigned)atoi(optarg); break;
		default: return -1;
		}
	}
	if (!o->url || !o->hosts || !o->vms || !o->metrics || o->metrics > N_METRICS || !o->intervals || !o->clients ||
	    o->interval_ms < WIRE_MIN_INTERVAL_MS || o->interval_ms > WIRE_MAX_INTERVAL_MS)
		return -1;
	if (o->clients > o->hosts)
		o->clients = o->hosts;
	int64_t span = (int64_t)o->intervals * o->interval_ms;
	o->t0 = clock_realtime_ms() - span;
	o->t0 -= o->t0 % o->interval_ms;
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
	unsigned per = o.hosts / o.clients, extra = o.hosts % o.clients, next = 0;
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
