#include "trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* How a series' readings are drawn. */
enum value_model {
	MODEL_PCT,      /* a percentage in whole hundredths, as the probe rounds it (userspace/sampler.c) */
	MODEL_COUNT,    /* a count per interval, a whole multiple of unit */
	MODEL_LEVEL,    /* a level that drifts by a few units (memory in pages) */
	MODEL_RISING,   /* a cumulative count that only grows (guest swap, faults since boot) */
	MODEL_BUCKET,   /* a latency histogram bucket's middle: 1.5 * 2^k microseconds */
};

struct metric_model {
	struct trace_metric pub;
	enum value_model model;
	double lo, hi; /* a series' typical level is drawn log-uniformly from [lo, hi] */
	double unit;
};

#define V TRACE_VARYING
#define S TRACE_STEADY
#define KIB 1024.0
#define MIB (1024.0 * KIB)
#define GIB (1024.0 * MIB)

/* Ordered so that the first 30 are the reference trace: a VM with 2 vCPUs,
 * one disk and one interface, as the probe reports it. */
static const struct metric_model models[TRACE_MAX_METRICS] = {
	{ { "cpu.used_pct", NULL, NULL, 0, V }, MODEL_PCT, 1, 150, 0 },
	{ { "cpu.wait_pct", NULL, NULL, 0, V }, MODEL_PCT, 0.1, 20, 0 },
	{ { "cpu.preempted", NULL, NULL, 0, V }, MODEL_COUNT, 10, 2000, 1 },
	{ { "cpu.used_pct", "vcpu", "0", 0, V }, MODEL_PCT, 1, 90, 0 },
	{ { "cpu.wait_pct", "vcpu", "0", 0, V }, MODEL_PCT, 0.1, 10, 0 },
	{ { "cpu.used_pct", "vcpu", "1", 0, V }, MODEL_PCT, 1, 90, 0 },
	{ { "cpu.wait_pct", "vcpu", "1", 0, V }, MODEL_PCT, 0.1, 10, 0 },
	{ { "cpu.used_pct", "thread", "emulator", 0, V }, MODEL_PCT, 0.1, 10, 0 },
	{ { "mem.minor_faults", NULL, NULL, 0, V }, MODEL_COUNT, 1, 5000, 1 },
	{ { "mem.major_faults", NULL, NULL, 0, S }, MODEL_COUNT, 0.5, 4, 1 },
	{ { "mem.rss_bytes", NULL, NULL, 0, S }, MODEL_LEVEL, 256 * MIB, 8 * GIB, 4096 },
	{ { "mem.cgroup_bytes", NULL, NULL, 0, S }, MODEL_LEVEL, 256 * MIB, 8 * GIB, 4096 },
	{ { "mem.configured_bytes", NULL, NULL, 0, S }, MODEL_LEVEL, 512 * MIB, 16 * GIB, 256 * MIB },
	{ { "mem.balloon_actual_bytes", NULL, NULL, 0, S }, MODEL_LEVEL, 512 * MIB, 16 * GIB, 4096 },
	{ { "mem.balloon_unused_bytes", NULL, NULL, 0, S }, MODEL_LEVEL, 64 * MIB, 4 * GIB, 4096 },
	{ { "mem.balloon_available_bytes", NULL, NULL, 0, S }, MODEL_LEVEL, 256 * MIB, 8 * GIB, 4096 },
	{ { "mem.guest_swap_in_bytes", NULL, NULL, 0, S }, MODEL_RISING, 4096, 64 * MIB, 4096 },
	{ { "mem.guest_swap_out_bytes", NULL, NULL, 0, S }, MODEL_RISING, 4096, 64 * MIB, 4096 },
	{ { "mem.guest_major_faults", NULL, NULL, 0, S }, MODEL_RISING, 100, 100000, 1 },
	{ { "disk.read_bytes", "dev", "vda", 0, V }, MODEL_COUNT, 4 * KIB, 8 * MIB, 512 },
	{ { "disk.write_bytes", "dev", "vda", 0, V }, MODEL_COUNT, 4 * KIB, 8 * MIB, 512 },
	{ { "disk.read_ops", "dev", "vda", 0, V }, MODEL_COUNT, 1, 500, 1 },
	{ { "disk.write_ops", "dev", "vda", 0, V }, MODEL_COUNT, 1, 500, 1 },
	{ { "disk.read_lat_p50_us", "dev", "vda", 0, V }, MODEL_BUCKET, 16, 4096, 0 },
	{ { "disk.write_lat_p50_us", "dev", "vda", 0, V }, MODEL_BUCKET, 16, 4096, 0 },
	{ { "net.rx_bytes", NULL, NULL, 1, V }, MODEL_COUNT, 1000, 10 * MIB, 1 },
	{ { "net.tx_bytes", NULL, NULL, 1, V }, MODEL_COUNT, 1000, 10 * MIB, 1 },
	{ { "net.rx_packets", NULL, NULL, 1, V }, MODEL_COUNT, 10, 10000, 1 },
	{ { "net.tx_packets", NULL, NULL, 1, V }, MODEL_COUNT, 10, 10000, 1 },
	{ { "net.rx_drops", NULL, NULL, 1, S }, MODEL_COUNT, 0.5, 4, 1 },
	/* Beyond the reference: more of the same families. */
	{ { "net.tx_drops", NULL, NULL, 1, S }, MODEL_COUNT, 0.5, 4, 1 },
	{ { "disk.read_lat_p99_us", "dev", "vda", 0, V }, MODEL_BUCKET, 64, 65536, 0 },
	{ { "disk.write_lat_p99_us", "dev", "vda", 0, V }, MODEL_BUCKET, 64, 65536, 0 },
	{ { "cpu.preempted", "vcpu", "0", 0, V }, MODEL_COUNT, 10, 1000, 1 },
	{ { "cpu.preempted", "vcpu", "1", 0, V }, MODEL_COUNT, 10, 1000, 1 },
	{ { "cpu.preempted", "thread", "emulator", 0, V }, MODEL_COUNT, 1, 200, 1 },
	{ { "kvm.exits", NULL, NULL, 0, V }, MODEL_COUNT, 100, 100000, 1 },
	{ { "kvm.exits", "reason", "hlt", 0, V }, MODEL_COUNT, 10, 10000, 1 },
	{ { "kvm.exits", "reason", "io_instruction", 0, V }, MODEL_COUNT, 10, 10000, 1 },
	{ { "kvm.exits", "reason", "ept_violation", 0, V }, MODEL_COUNT, 1, 5000, 1 },
};

#undef V
#undef S

/* An idle VM's CPU, disk and network levels are this fraction of a busy
 * one's (mostly zero counts); they then stay flat. */
#define IDLE_LEVEL_FACTOR 0.02

struct vm_identity {
	char name[40];
	char uuid[40];
	char ifname[16];
	char mac[20];
	int idle;
};

struct trace_host {
	struct trace_shape shape;
	uint32_t index; /* absolute: shape.first_host + relative index */
	uint64_t rng;
	uint32_t position;
	char host_name[32];
	struct vm_identity *ids;
	double *level; /* per series: its typical magnitude */
	double *value; /* per series: the current reading */
	Vigil__Batch batch;
	Vigil__VmSamples *vms;
	Vigil__VmSamples **vm_ptrs;
	Vigil__Sample *samples;
	Vigil__Sample **sample_ptrs;
	Vigil__Tag *tags;
	Vigil__Tag **tag_ptrs;
};

/* splitmix64: small, fast, and good enough for benchmark data. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *state)
{
	return (double)(rng_next(state) >> 11) * 0x1.0p-53;
}

void trace_shape_defaults(struct trace_shape *s)
{
	*s = (struct trace_shape){
		.hosts = 10,
		.vms_per_host = 100,
		.metrics = TRACE_REFERENCE_METRICS,
		.interval_ms = 1000,
		.intervals = 60,
		.first_host = 0,
		.idle_share = 0.5,
		.vary_rate = 0.8,
		.steady_rate = 0.01,
		.seed = 1,
		.t0_ms = 0,
	};
}

void trace_shape_end_at(struct trace_shape *s, int64_t now_ms)
{
	int64_t span = (int64_t)s->intervals * s->interval_ms;
	int64_t start = now_ms - span;
	s->t0_ms = start - start % (int64_t)s->interval_ms;
}

int trace_shape_check(const struct trace_shape *s, char *err, size_t errlen)
{
	const char *bad = NULL;
	if (s->hosts == 0 || s->hosts > 100000)
		bad = "hosts must be 1..100000";
	else if (s->vms_per_host == 0 || s->vms_per_host > WIRE_MAX_VMS)
		bad = "VMs per host must be 1..10000 (the wire format's limit per batch)";
	else if (s->metrics == 0 || s->metrics > TRACE_MAX_METRICS)
		bad = "metrics per VM must be 1..40";
	else if (s->interval_ms < WIRE_MIN_INTERVAL_MS || s->interval_ms > WIRE_MAX_INTERVAL_MS)
		bad = "interval must be 100..3600000 ms";
	else if (s->intervals == 0)
		bad = "the trace needs at least one interval";
	else if (!(s->idle_share >= 0 && s->idle_share <= 1))
		bad = "idle share must be 0..1";
	else if (!(s->vary_rate >= 0 && s->vary_rate <= 1) || !(s->steady_rate >= 0 && s->steady_rate <= 1))
		bad = "change rates must be 0..1";
	else if (s->t0_ms < WIRE_MIN_TIME_MS)
		bad = "the trace must start after 2000-01-01 (set t0)";
	if (bad) {
		snprintf(err, errlen, "trace shape: %s", bad);
		return -1;
	}
	return 0;
}

uint64_t trace_batch_samples(const struct trace_shape *s)
{
	return (uint64_t)s->vms_per_host * s->metrics;
}

uint64_t trace_total_samples(const struct trace_shape *s)
{
	return trace_batch_samples(s) * s->hosts * s->intervals;
}

const struct trace_metric *trace_metric_at(unsigned i)
{
	return i < TRACE_MAX_METRICS ? &models[i].pub : NULL;
}

uint64_t trace_series_id(const struct trace_shape *s, uint32_t host_index, uint32_t vm, uint32_t metric)
{
	return ((uint64_t)(s->first_host + host_index) * s->vms_per_host + vm) * TRACE_MAX_METRICS + metric;
}

/* The probe's percentage resolution: the double nearest a whole number of
 * hundredths, computed as the probe computes it. */
static double hundredths(double pct)
{
	return round(pct * 100.0) / 100.0;
}

/* A value from a series' distribution around its level. */
static double draw_value(const struct metric_model *m, double level, double current, uint64_t *rng)
{
	double spread = 0.25 + 1.5 * rng_unit(rng);
	switch (m->model) {
	case MODEL_PCT:
		return hundredths(level * spread);
	case MODEL_COUNT:
		return floor(level * spread / m->unit) * m->unit;
	case MODEL_LEVEL: {
		double step = (double)(1 + rng_next(rng) % 64) * m->unit;
		double next = rng_next(rng) & 1 ? current + step : current - step;
		return next > 0 ? next : current + step;
	}
	case MODEL_RISING:
		return current + (double)(1 + rng_next(rng) % 64) * m->unit;
	case MODEL_BUCKET: {
		/* The neighbouring buckets of the level's, as latencies wander. */
		double k = floor(log2(level / 1.5)) + (double)(rng_next(rng) % 3) - 1.0;
		return 1.5 * exp2(k < 0 ? 0 : k);
	}
	}
	return level;
}

/* A new reading that differs from the current one: the change the rates
 * count. Bounded: a draw that keeps landing on the same value is nudged. */
static double draw_change(const struct metric_model *m, double level, double current, uint64_t *rng)
{
	for (int tries = 0; tries < 8; tries++) {
		double v = draw_value(m, level, current, rng);
		if (v != current)
			return v;
	}
	if (m->model == MODEL_PCT)
		return hundredths(current + 0.01);
	return current + (m->unit > 0 ? m->unit : 1.0);
}

static double draw_level(const struct metric_model *m, int idle, uint64_t *rng)
{
	double level = m->lo * pow(m->hi / m->lo, rng_unit(rng));
	if (idle && m->pub.change == TRACE_VARYING)
		level *= IDLE_LEVEL_FACTOR;
	return level;
}

static double first_value(const struct metric_model *m, double level, uint64_t *rng)
{
	switch (m->model) {
	case MODEL_LEVEL:
	case MODEL_RISING:
		return floor(level / m->unit) * m->unit;
	default:
		return draw_value(m, level, 0, rng);
	}
}

static void make_identity(struct trace_host *h, uint32_t vm, uint64_t *rng)
{
	struct vm_identity *id = &h->ids[vm];
	uint64_t a = rng_next(rng), b = rng_next(rng);
	snprintf(id->name, sizeof(id->name), "bench-h%04u-vm%04u", h->index, vm);
	/* A version-4-shaped UUID, unique per (seed, host, VM). */
	snprintf(id->uuid, sizeof(id->uuid), "%08x-%04x-4%03x-a%03x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff, (unsigned)(b >> 48) & 0xfff,
		 (unsigned long long)(b & 0xffffffffffffull));
	snprintf(id->ifname, sizeof(id->ifname), "vnet%u", vm);
	snprintf(id->mac, sizeof(id->mac), "52:54:00:%02x:%02x:%02x", (h->index >> 4) & 0xff,
		 ((h->index & 0xf) << 4) | ((vm >> 8) & 0xf), vm & 0xff);
	id->idle = rng_unit(rng) < h->shape.idle_share;
}

/* Points sample (vm, m)'s tags at the shared strings or the VM's own. */
static void wire_sample(struct trace_host *h, uint32_t vm, uint32_t m)
{
	size_t i = (size_t)vm * h->shape.metrics + m;
	const struct trace_metric *tm = &models[m].pub;
	Vigil__Sample *smp = &h->samples[i];
	Vigil__Tag **tp = &h->tag_ptrs[2 * i];
	Vigil__Tag *tags = &h->tags[2 * i];

	vigil__sample__init(smp);
	smp->metric = (char *)tm->metric;
	vigil__tag__init(&tags[0]);
	vigil__tag__init(&tags[1]);
	tp[0] = &tags[0];
	tp[1] = &tags[1];
	if (tm->net_tags) {
		tags[0].key = "if";
		tags[0].value = h->ids[vm].ifname;
		tags[1].key = "mac";
		tags[1].value = h->ids[vm].mac;
		smp->n_tags = 2;
	} else if (tm->tag_key) {
		tags[0].key = (char *)tm->tag_key;
		tags[0].value = (char *)tm->tag_value;
		smp->n_tags = 1;
	}
	smp->tags = smp->n_tags ? tp : NULL;
	h->sample_ptrs[i] = smp;
}

static void wire_vm(struct trace_host *h, uint32_t vm)
{
	Vigil__VmSamples *v = &h->vms[vm];
	vigil__vm_samples__init(v);
	v->name = h->ids[vm].name;
	v->uuid = h->ids[vm].uuid;
	v->state = "running";
	v->source = "libvirt";
	v->vcpus = 2;
	v->n_samples = h->shape.metrics;
	v->samples = &h->sample_ptrs[(size_t)vm * h->shape.metrics];
	h->vm_ptrs[vm] = v;
	for (uint32_t m = 0; m < h->shape.metrics; m++)
		wire_sample(h, vm, m);
}

static int allocate(struct trace_host *h)
{
	size_t vms = h->shape.vms_per_host, series = vms * h->shape.metrics;
	h->ids = calloc(vms, sizeof(*h->ids));
	h->level = calloc(series, sizeof(*h->level));
	h->value = calloc(series, sizeof(*h->value));
	h->vms = calloc(vms, sizeof(*h->vms));
	h->vm_ptrs = calloc(vms, sizeof(*h->vm_ptrs));
	h->samples = calloc(series, sizeof(*h->samples));
	h->sample_ptrs = calloc(series, sizeof(*h->sample_ptrs));
	h->tags = calloc(2 * series, sizeof(*h->tags));
	h->tag_ptrs = calloc(2 * series, sizeof(*h->tag_ptrs));
	return h->ids && h->level && h->value && h->vms && h->vm_ptrs && h->samples && h->sample_ptrs && h->tags &&
			       h->tag_ptrs
		       ? 0
		       : -1;
}

struct trace_host *trace_host_new(const struct trace_shape *shape, uint32_t index)
{
	struct trace_host *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->shape = *shape;
	h->index = shape->first_host + index;
	/* Seeds far apart per host; splitmix64 scrambles them. */
	h->rng = shape->seed * 0x9e3779b97f4a7c15ull ^ ((uint64_t)h->index << 32 | 0x5bd1e995u);
	if (allocate(h) < 0) {
		trace_host_free(h);
		return NULL;
	}
	snprintf(h->host_name, sizeof(h->host_name), "bench-h%04u", h->index);
	for (uint32_t vm = 0; vm < shape->vms_per_host; vm++) {
		make_identity(h, vm, &h->rng);
		for (uint32_t m = 0; m < shape->metrics; m++) {
			size_t i = (size_t)vm * shape->metrics + m;
			h->level[i] = draw_level(&models[m], h->ids[vm].idle, &h->rng);
		}
		wire_vm(h, vm);
	}
	vigil__batch__init(&h->batch);
	h->batch.host = h->host_name;
	h->batch.interval_ms = shape->interval_ms;
	h->batch.n_vms = shape->vms_per_host;
	h->batch.vms = h->vm_ptrs;
	return h;
}

void trace_host_free(struct trace_host *h)
{
	if (!h)
		return;
	free(h->ids);
	free(h->level);
	free(h->value);
	free(h->vms);
	free(h->vm_ptrs);
	free(h->samples);
	free(h->sample_ptrs);
	free(h->tags);
	free(h->tag_ptrs);
	free(h);
}

/* Interval 0 draws every reading; later ones change each with its rate. */
static void advance_readings(struct trace_host *h)
{
	const struct trace_shape *s = &h->shape;
	for (uint32_t vm = 0; vm < s->vms_per_host; vm++) {
		int idle = h->ids[vm].idle;
		for (uint32_t m = 0; m < s->metrics; m++) {
			size_t i = (size_t)vm * s->metrics + m;
			const struct metric_model *mm = &models[m];
			if (h->position == 0) {
				h->value[i] = first_value(mm, h->level[i], &h->rng);
			} else if (!idle) {
				double rate = mm->pub.change == TRACE_VARYING ? s->vary_rate : s->steady_rate;
				if (rng_unit(&h->rng) < rate)
					h->value[i] = draw_change(mm, h->level[i], h->value[i], &h->rng);
			}
			h->samples[i].value = h->value[i];
		}
	}
}

const Vigil__Batch *trace_host_next(struct trace_host *h, uint64_t seq)
{
	if (h->position >= h->shape.intervals)
		return NULL;
	advance_readings(h);
	h->batch.seq = seq;
	h->batch.t_start_ms = h->shape.t0_ms + (int64_t)h->position * h->shape.interval_ms;
	h->batch.t_end_ms = h->batch.t_start_ms + h->shape.interval_ms;
	h->position++;
	return &h->batch;
}

uint32_t trace_host_position(const struct trace_host *h)
{
	return h->position;
}

static void envelope_of(const Vigil__Batch *b, Vigil__Envelope *env)
{
	vigil__envelope__init(env);
	env->version = VIGIL_WIRE_VERSION;
	env->body_case = VIGIL__ENVELOPE__BODY_BATCH;
	env->batch = (Vigil__Batch *)b;
}

size_t trace_envelope_size(const Vigil__Batch *b)
{
	Vigil__Envelope env;
	envelope_of(b, &env);
	return vigil__envelope__get_packed_size(&env);
}

size_t trace_envelope_pack(const Vigil__Batch *b, uint8_t *buf)
{
	Vigil__Envelope env;
	envelope_of(b, &env);
	return vigil__envelope__pack(&env, buf);
}
