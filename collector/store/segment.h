/* Segments: one VM's closed intervals (raw tier) or rollup buckets (1m, 1h)
 * moved out of the journal by one flush, as one compressed blob. A
 * directory at the start lists each series' section (docs/storage.md).
 *
 * Format 2 (written now) splits the records into columns shared by all
 * sections, so that zstd sees like next to like: a header byte per record,
 * the times that deviate from the regular cadence, and per section one
 * value block (valblock.h) per value field. Format 1 (one row stream per
 * section, interval_put / rollup_put) is still read. */
#ifndef VIGIL_SEGMENT_H
#define VIGIL_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "valblock.h"

enum { SEG_COL_HEAD, SEG_COL_TIME, SEG_COL_VALUE, SEG_COLUMNS };

struct seg_section {
	int64_t series_id;
	uint32_t count;
	int64_t origin;   /* the encoder's t_origin */
	uint32_t base_ms; /* raw tier: the sample duration intervals are stored against */
	/* Added to a builder, and read from a format 1 segment: the row stream
	 * (interval_put or rollup_put from origin). */
	const uint8_t *data;
	size_t len;
	/* Read from a format 2 segment: the section's part of each column. */
	int version;
	const uint8_t *col[SEG_COLUMNS];
	size_t col_len[SEG_COLUMNS];
};

/* The decoded records of one section, reused from section to section. */
struct seg_scratch {
	struct interval *ivs;
	struct rollup *rus;
	const struct rollup **mean_of; /* the buckets that store a mean */
	double *vals;
	size_t cap_ivs, cap_rus, cap_vals, cap_mean_of;
	struct vblock_scratch vb;
};

struct seg_builder {
	int tier; /* TIER_RAW, TIER_1M or TIER_1H: what the row streams hold */
	struct buf dir, col[SEG_COLUMNS];
	size_t n;
	int64_t prev_id, prev_origin;
	int64_t t_first, t_last;
	struct seg_scratch scratch;
};

void seg_builder_reset(struct seg_builder *b, int tier);
void seg_builder_free(struct seg_builder *b);
/* Adds a section given as its row stream. 0, or -1 when the stream does
 * not decode (or out of memory). */
int seg_add(struct seg_builder *b, const struct seg_section *s, int64_t t_first, int64_t t_last);
/* zstd levels for seg_finish. A flush's raw and one-minute segments of an
 * hour are rewritten when the hour is merged (compact.c), so they are
 * written at the fast level (the writer, and so ingest, waits for a
 * flush); what stays, merged hours and one-hour rollups, at the tight one
 * (10-15% fewer bytes than level 3 on these columns). */
#define SEG_LEVEL_FAST 1
#define SEG_LEVEL_FINAL 9

/* The compressed blob, at zstd level `level`. 0, or -1 out of memory. */
int seg_finish(struct seg_builder *b, struct buf *blob, int level);

/* A decoded segment: plain holds the uncompressed bytes. */
struct seg_view {
	struct buf plain;
	int version;
	struct cursor dir;
	size_t n;
	const uint8_t *body;                /* format 1 */
	const uint8_t *col[SEG_COLUMNS];    /* format 2 */
	size_t col_len[SEG_COLUMNS];
};

/* 0, or -1 when the blob is corrupt. */
int seg_open(struct seg_view *v, const void *blob, size_t len);
/* Finds series_id's section. 1 found, 0 absent, -1 corrupt. */
int seg_find(struct seg_view *v, int64_t series_id, struct seg_section *out);
/* Walks every section in order: call with *pos = 0; 1 while there are more. */
int seg_next(struct seg_view *v, size_t *pos, struct cursor *dir, struct seg_section *out);
void seg_view_free(struct seg_view *v);

/* Reads a section's records in order, whatever its format. */
struct seg_reader {
	const struct seg_section *sec;
	int64_t res_ms; /* rollup tiers: the bucket size; 0 for raw */
	uint32_t done;
	struct cursor row;               /* format 1 */
	struct interval_enc ienc;
	struct rollup_enc renc;
	struct cursor head, time;        /* format 2 */
	int64_t prev_end, prev_start;
	struct vblock_reader val[5];     /* raw: value; rollups: min, max, mean, last, sum */
	uint8_t mean_form;               /* rollups: how the means are stored */
	uint64_t mean_k;                 /* MEAN_FROM_SUM: the factor */
};

/* res_ms is the tier's resolution, 0 for raw. 0, or -1 when corrupt. */
int seg_reader_open(struct seg_reader *r, const struct seg_section *sec, int64_t res_ms);
/* The next record: 1, 0 after the last, -1 when corrupt. */
int seg_read_interval(struct seg_reader *r, struct interval *iv);
int seg_read_rollup(struct seg_reader *r, struct rollup *ru);

#endif
