/* Building a wire Batch (schema/vigil.proto) from the sampler's readings.
 * Every field is heap-allocated, so batch_free() releases the whole tree. */
#ifndef VIGIL_BATCH_H
#define VIGIL_BATCH_H

#include <stdint.h>
#include <stdio.h>

#include "discovery.h"
#include "vigil.pb-c.h"

Vigil__Batch *batch_new(const char *host, uint64_t seq, int64_t t_start_ms, int64_t t_end_ms,
			uint32_t interval_ms);
Vigil__VmSamples *batch_add_vm(Vigil__Batch *b, const struct vm_target *t, unsigned vcpus);

struct batch_tag {
	const char *key;
	const char *value;
};

/* Adds a sample with n_tags tags (the wire format sorts them). 0 or -ENOMEM. */
int batch_add_sample_tags(Vigil__VmSamples *vm, const char *metric, double value, const struct batch_tag *tags,
			  size_t n_tags);

/* Adds a sample with at most one tag (tag_key NULL for none). 0 or -ENOMEM. */
int batch_add_sample(Vigil__VmSamples *vm, const char *metric, double value, const char *tag_key,
		     const char *tag_value);

/* Packs the batch into a wire Envelope. 0 or -ENOMEM. */
int batch_pack(Vigil__Batch *b, uint8_t **buf, size_t *len);

/* The --stdout table: one line per sample; the last column, RESET, is
 * "yes" on every line of a VM whose batch has counters_reset. */
void batch_print(FILE *f, const Vigil__Batch *b);

void batch_free(Vigil__Batch *b);

#endif
