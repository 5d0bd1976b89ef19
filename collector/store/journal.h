/* The per-VM journal: what each group commit changed, and the state it
 * leads to. The collector writes one journal row per VM per commit; a flush
 * moves closed intervals into segments and replaces the VM's rows with one
 * snapshot. Applying a VM's rows in order (journal_apply) rebuilds its open
 * intervals exactly, so the writer's memory, crash recovery and every
 * reader share one set of rules (docs/storage.md, "Journal").
 *
 * A probe series' open interval has no stored end: it ends at the VM's
 * clock (the end of the VM's latest batch). That holds because every batch
 * either extends a series (no record needed), replaces its interval (NEW),
 * or ends it at the previous clock (CLOSE). */
#ifndef VIGIL_JOURNAL_H
#define VIGIL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "rollup.h"

/* One series' state as the journal defines it. */
struct jseries {
	int64_t id;
	uint8_t open;
	uint8_t derived;  /* collector-computed: its open interval has its own end */
	struct interval cur; /* the open interval; cur.t_end_ms is kept current */
	struct rollup_acc acc[2]; /* 1-minute and 1-hour buckets in progress */
	int64_t rolled_until[2];  /* readers: buckets before this are in segments */
};

struct jvm;
typedef void (*jclose_fn)(struct jvm *vm, struct jseries *s, const struct interval *closed, void *arg);
/* A series held its value over [t0, t1): one sample. Rollups are fed from
 * this, so they aggregate exactly what the raw tier stores. */
typedef void (*jsample_fn)(struct jvm *vm, struct jseries *s, int64_t t0, int64_t t1, uint8_t flags, void *arg);

struct jvm {
	int64_t vm_id;
	int has_clock;
	int64_t clock_start, clock_end; /* the VM's latest batch */
	uint32_t interval_ms;
	int has_snapshot;
	int64_t horizon; /* at the snapshot: nothing later was in segments */
	struct jseries *series;
	size_t n_series, cap_series;
	jclose_fn on_close;
	jsample_fn on_sample;
	void *arg;
};

/* Batch flags. */
#define JB_BREAK 1u /* not continuous with the VM's previous batch: everything restarts */
#define JB_RESET 2u /* the probe flagged counters_reset */

enum jop { JOP_NEW = 0, JOP_CLOSE = 1, JOP_EXTEND = 2 };

struct jevent {
	size_t idx; /* index into jvm.series */
	uint8_t op;
	uint8_t flags; /* IV_* of a NEW interval */
	double value;
};

struct jbatch {
	uint8_t flags;
	int64_t t_start_ms, t_end_ms;
	uint32_t interval_ms;
};

void jvm_init(struct jvm *vm, int64_t vm_id);
void jvm_free(struct jvm *vm);
/* Index of series id, created closed if absent; (size_t)-1 out of memory. */
size_t jvm_series(struct jvm *vm, int64_t id);
/* Index of series id, or (size_t)-1. */
size_t jvm_find(const struct jvm *vm, int64_t id);
/* For readers: the start of the first bucket of tier (TIER_1M or TIER_1H)
 * that segments do not hold for series id; later buckets come from the raw
 * tier. INT64_MIN when none is in segments yet. */
int64_t jvm_rolled_until(const struct jvm *vm, int64_t id, int tier);

/* Applies a probe batch: BREAK/RESET end every open probe interval at the
 * previous clock, NEW replaces, CLOSE ends, and every open probe series then
 * runs to the batch's end. */
void journal_apply_batch(struct jvm *vm, const struct jbatch *b, const struct jevent *ev, size_t n);
/* Applies collector-derived readings: NEW or EXTEND to the batch's end. */
void journal_apply_derived(struct jvm *vm, const struct jbatch *b, const struct jevent *ev, size_t n);

/* Encode the same, before applying (values are stored against the state
 * before the batch). */
void journal_put_batch(struct buf *out, const struct jvm *vm, const struct jbatch *b, const struct jevent *ev,
		       size_t n);
void journal_put_derived(struct buf *out, const struct jvm *vm, const struct jbatch *b, const struct jevent *ev,
			 size_t n);
/* The whole state, as the first row after a flush. */
void journal_put_snapshot(struct buf *out, const struct jvm *vm);

/* Applies one VM's records (any number). 0, or -1 when they are corrupt. */
int journal_replay(struct jvm *vm, const void *data, size_t len);

/* A journal row holds one commit (or one flush's snapshots): a directory
 * of (VM, length) then each VM's records, so a commit is one row however
 * many VMs it changed, and a reader skips the VMs it does not want. */
struct jrow_builder {
	struct buf dir, body;
	size_t n;
	int64_t prev_vm;
};
void jrow_reset(struct jrow_builder *b);
void jrow_free(struct jrow_builder *b);
void jrow_add(struct jrow_builder *b, int64_t vm_id, const struct buf *records);
/* The row's bytes into out. 0, or -1 out of memory. */
int jrow_finish(struct jrow_builder *b, struct buf *out);

/* Calls fn for each VM section of a row (vm_id -1: every VM). 0, -1 when
 * the row is corrupt, or fn's non-zero result. */
int jrow_sections(const void *row, size_t len, int64_t vm_id,
		  int (*fn)(int64_t vm_id, const uint8_t *data, size_t len, void *arg), void *arg);

#endif
