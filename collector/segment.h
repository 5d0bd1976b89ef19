/* Segments: one VM's closed intervals (raw tier) or rollup buckets (1m, 1h)
 * moved out of the journal by one flush, as one compressed blob. A
 * directory at the start lists each series' stream (docs/storage.md). */
#ifndef VIGIL_SEGMENT_H
#define VIGIL_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

struct seg_section {
	int64_t series_id;
	uint32_t count;
	int64_t origin;   /* the encoder's t_origin */
	uint32_t base_ms; /* raw tier: the sample duration intervals are stored against */
	const uint8_t *data;
	size_t len;
};

struct seg_builder {
	struct buf dir, body;
	size_t n;
	int64_t prev_id;
	int64_t t_first, t_last;
};

void seg_builder_reset(struct seg_builder *b);
void seg_builder_free(struct seg_builder *b);
void seg_add(struct seg_builder *b, const struct seg_section *s, int64_t t_first, int64_t t_last);
/* The compressed blob. 0, or -1 out of memory. */
int seg_finish(struct seg_builder *b, struct buf *blob);

/* A decoded segment: plain holds the uncompressed bytes. */
struct seg_view {
	struct buf plain;
	struct cursor dir;
	size_t n;
	const uint8_t *body;
};

/* 0, or -1 when the blob is corrupt. */
int seg_open(struct seg_view *v, const void *blob, size_t len);
/* Finds series_id's section. 1 found, 0 absent, -1 corrupt. */
int seg_find(struct seg_view *v, int64_t series_id, struct seg_section *out);
/* Walks every section in order: call with *pos = 0; 1 while there are more. */
int seg_next(struct seg_view *v, size_t *pos, struct cursor *dir, struct seg_section *out);
void seg_view_free(struct seg_view *v);

#endif
