#include "batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* Appends item to a protobuf-c repeated field (array + count). */
static int append(void ***array, size_t *count, void *item)
{
	void **grown = realloc(*array, (*count + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	grown[(*count)++] = item;
	*array = grown;
	return 0;
}

Vigil__Batch *batch_new(const char *host, uint64_t seq, int64_t t_start_ms, int64_t t_end_ms,
			uint32_t interval_ms)
{
	Vigil__Batch *b = malloc(sizeof(*b));
	if (!b)
		return NULL;
	vigil__batch__init(b);
	b->host = strdup(host);
	if (!b->host) {
		free(b);
		return NULL;
	}
	b->seq = seq;
	b->t_start_ms = t_start_ms;
	b->t_end_ms = t_end_ms;
	b->interval_ms = interval_ms;
	return b;
}

Vigil__VmSamples *batch_add_vm(Vigil__Batch *b, const struct vm_target *t, unsigned vcpus)
{
	Vigil__VmSamples *vm = malloc(sizeof(*vm));
	if (!vm)
		return NULL;
	vigil__vm_samples__init(vm);
	vm->name = strdup(t->name);
	vm->uuid = strdup(t->uuid);
	vm->state = strdup(t->state);
	vm->source = strdup(t->source == VM_SOURCE_LIBVIRT ? "libvirt" : t->source == VM_SOURCE_HOST ? "host" : "pid");
	vm->vcpus = vcpus;
	if (!vm->name || !vm->uuid || !vm->state || !vm->source ||
	    append((void ***)&b->vms, &b->n_vms, vm) < 0) {
		vigil__vm_samples__free_unpacked(vm, NULL);
		return NULL;
	}
	return vm;
}

static Vigil__Tag *tag_new(const char *key, const char *value)
{
	Vigil__Tag *tag = malloc(sizeof(*tag));
	if (!tag)
		return NULL;
	vigil__tag__init(tag);
	tag->key = strdup(key);
	tag->value = strdup(value);
	if (!tag->key || !tag->value) {
		vigil__tag__free_unpacked(tag, NULL);
		return NULL;
	}
	return tag;
}

int batch_add_sample_tags(Vigil__VmSamples *vm, const char *metric, double value, const struct batch_tag *tags,
			  size_t n_tags)
{
	Vigil__Sample *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	vigil__sample__init(s);
	s->metric = strdup(metric);
	s->value = value;
	int rc = s->metric ? 0 : -ENOMEM;
	for (size_t i = 0; i < n_tags && rc == 0; i++) {
		Vigil__Tag *tag = tag_new(tags[i].key, tags[i].value);
		if (!tag || append((void ***)&s->tags, &s->n_tags, tag) < 0) {
			if (tag)
				vigil__tag__free_unpacked(tag, NULL);
			rc = -ENOMEM;
		}
	}
	if (rc == 0)
		rc = append((void ***)&vm->samples, &vm->n_samples, s);
	if (rc < 0) {
		vigil__sample__free_unpacked(s, NULL);
		return -ENOMEM;
	}
	return 0;
}

int batch_add_sample(Vigil__VmSamples *vm, const char *metric, double value, const char *tag_key,
		     const char *tag_value)
{
	struct batch_tag tag = { tag_key, tag_value };

	return batch_add_sample_tags(vm, metric, value, &tag, tag_key ? 1 : 0);
}

int batch_pack(Vigil__Batch *b, uint8_t **buf, size_t *len)
{
	Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
	env.body_case = VIGIL__ENVELOPE__BODY_BATCH;
	env.batch = b;
	return wire_pack(&env, buf, len);
}

void batch_print(FILE *f, const Vigil__Batch *b)
{
	fprintf(f, "%-24s %-10s %-5s %-22s %-30s %14s %s\n", "VM", "STATE", "VCPUS", "METRIC", "TAGS", "VALUE", "RESET");
	for (size_t i = 0; i < b->n_vms; i++) {
		const Vigil__VmSamples *vm = b->vms[i];
		/* counters_reset: the VM's counters restarted before this batch. */
		const char *reset = vm->counters_reset ? "yes" : "-";
		if (vm->n_samples == 0)
			fprintf(f, "%-24s %-10s %5u %-22s %-30s %14s %s\n", vm->name, vm->state, vm->vcpus, "-", "-", "-",
				reset);
		for (size_t j = 0; j < vm->n_samples; j++) {
			char tags[WIRE_TAGS_MAX_LEN];
			const Vigil__Sample *s = vm->samples[j];
			if (wire_canonical_tags(s->tags, s->n_tags, tags, sizeof(tags)) < 0 || !tags[0])
				snprintf(tags, sizeof(tags), "-");
			fprintf(f, "%-24s %-10s %5u %-22s %-30s %14.2f %s\n", vm->name, vm->state, vm->vcpus, s->metric,
				tags, s->value, reset);
		}
	}
	fflush(f);
}

void batch_free(Vigil__Batch *b)
{
	if (b)
		vigil__batch__free_unpacked(b, NULL);
}
