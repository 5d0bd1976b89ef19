/* The writer's in-memory model of the store (docs/storage.md, "Writer"):
 * hosts, VMs and series found by hash, each VM's journal state (open
 * intervals, rollup buckets in progress), and what the next flush will
 * move into segments. Only the writer thread touches it. */
#ifndef VIGIL_ENGINE_H
#define VIGIL_ENGINE_H

#include <sqlite3.h>
#include <stdint.h>

#include "interval.h"
#include "journal.h"
#include "period.h"
#include "segtable.h"
#include "storage_config.h"
#include "store_types.h"
#include "vigil.pb-c.h"

enum metric_kind { KIND_GAUGE, KIND_COUNTER, KIND_STATE };

/* Every hashed object starts with this. */
struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **slots;
	size_t mask, count;
};

struct metric_info {
	struct hnode node;
	int64_t id;
	char *name;
	uint8_t kind;
	const struct deadband *deadband;
};

struct host_info {
	struct hnode node;
	int64_t id;
	char *name;
	uint64_t last_seq;
	int64_t last_seen;
	uint32_t interval_ms;
	int dirty;
	struct host_info *dirty_next;
};

struct series_info {
	struct hnode node;
	struct vm_info *vm;
	struct metric_info *metric;
	char *tags;
	uint8_t untagged; /* tags is "": checked without following the pointer */
	int64_t id;
	size_t idx; /* in vm->log.series */
	uint64_t seen_gen; /* the engine's gen when last sampled; 64 bits never wrap */
	struct pending raw; /* what the next flush writes of each tier */
	struct interval_enc raw_enc;
	struct pending roll[2];
	struct rollup_enc roll_enc[2];
};

struct series_order {
	struct series_info **at;
	size_t cap;
};

struct vm_info {
	struct hnode node;
	int64_t id;
	char uuid[40];
	struct host_info *host;
	char *name;
	char state[16];
	char source[8];
	uint32_t vcpus;
	int64_t first_seen, last_seen;
	double cpu_used, cpu_wait;
	uint8_t has_cpu_used, has_cpu_wait;
	struct jvm log;
	struct series_info **series; /* parallel to log.series */
	size_t cap_series;
	struct buf jbuf; /* this commit's journal records */
	int dirty, name_dirty;
	struct vm_info *dirty_next;
	struct jevent *ev;
	size_t ev_cap;
	/* The series of each sample position in the VM's previous batch, and
	 * in its previous derived readings: a probe (and the SLA check) sends
	 * its readings in the same order every interval, so most lookups are
	 * one comparison instead of a hash. */
	struct series_order order, derived_order;
	/* Per tier: segments of hours before this were merged by this
	 * process (compact.c; the one-hour tier is never merged). */
	int64_t compacted_until[TIER_COUNT];
};

enum engine_stmt {
	EST_HOST_ADD,
	EST_HOST_SET,
	EST_VM_ADD,
	EST_VM_SET,
	EST_VM_NAME,
	EST_METRIC_ADD,
	EST_SERIES_ADD,
	EST_JOURNAL_ADD,
	EST_JOURNAL_CLEAR,
	EST_COUNT
};

struct engine {
	sqlite3 *db;
	sqlite3_stmt *st[EST_COUNT];
	struct storage_config cfg;
	struct htab metrics, hosts, vms, series;
	struct vm_info **all_vms;
	size_t n_vms, cap_vms;
	struct host_info *dirty_hosts;
	struct vm_info *dirty_vms;
	struct metric_info *cpu_used, *cpu_wait;
	uint64_t gen;
	int in_txn;
	int broken; /* memory no longer matches the database: reload before use */
	uint64_t journal_bytes; /* in the journal table now */
	int64_t journal_seq;    /* the last journal row's id */
	struct segtable segs;
	struct period_set periods; /* a flush's segments of one VM and tier */
	struct series_pending *flushing; /* a flush's streams of one VM and tier */
	size_t cap_flushing;
	struct jrow_builder jrow;
	struct buf blob;
	struct store_stats stats;
	int closing; /* the flush at a clean stop: merges the current hour too */
};

/* Loads the whole state from db (the writer's connection): catalogue,
 * hosts, VMs, series, and each VM's journal replayed. Converts rows left by
 * schema version 2. 0, or -1 with a message in err. */
int engine_load(struct engine *e, sqlite3 *db, const struct storage_config *cfg, char *err, size_t errlen);
void engine_free(struct engine *e);
/* Frees the memory and loads it again (after a failed commit). */
int engine_reload(struct engine *e, char *err, size_t errlen);

int engine_begin(struct engine *e, char *err, size_t errlen);
/* Writes the dirty rows and the journal records, then commits. */
int engine_commit(struct engine *e, char *err, size_t errlen);
void engine_rollback(struct engine *e);

/* Inside a transaction (engine_begin). On STORE_FAILED the engine must be
 * rolled back and reloaded. */
enum store_result engine_batch(struct engine *e, const Vigil__Batch *b, char *err, size_t errlen);
int engine_derived(struct engine *e, const char *vm_uuid, int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms,
		   Vigil__Sample *const *samples, size_t n, char *err, size_t errlen);

/* Moves every VM's closed intervals and finished buckets into segments,
 * replaces the journal with snapshots and applies retention as of now_ms,
 * in its own transaction. */
int engine_flush(struct engine *e, int64_t now_ms, char *err, size_t errlen);

#endif
