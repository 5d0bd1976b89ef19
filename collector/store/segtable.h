/* The segments table (schema/003_interval_store.sql) as the writer uses
 * it: insert a segment, read one VM's segments of a tier and hour, delete
 * segments by id or by retention. It owns its prepared statements on the
 * writer's connection; the caller owns the transaction. Readers go through
 * history.c instead. */
#ifndef VIGIL_SEGTABLE_H
#define VIGIL_SEGTABLE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "segment.h"

enum segtable_stmt { SEGT_INSERT, SEGT_HOUR, SEGT_DELETE, SEGT_EXPIRE, SEGT_COUNT };

struct segtable {
	sqlite3 *db;
	sqlite3_stmt *st[SEGT_COUNT];
	struct buf blob;        /* the segment being inserted */
	uint64_t bytes_written; /* compressed bytes inserted; the owner takes them into its counters */
};

/* Prepares the statements on db (the writer's connection). 0, or -1 with a
 * message in err; segtable_close is safe either way. */
int segtable_open(struct segtable *t, sqlite3 *db, char *err, size_t errlen);
void segtable_close(struct segtable *t);

/* Compresses b at zstd level `level` (SEG_LEVEL_*) and inserts it as a
 * segment of vm_id and tier spanning b's [t_first, t_last]; nothing when b
 * is empty. 0, or -1 with a message in err. */
int segtable_insert(struct segtable *t, int64_t vm_id, int tier, struct seg_builder *b, int level, char *err,
		    size_t errlen);

/* Calls fn with each segment of vm_id and tier whose t_first is in
 * [from, to), in the order they were inserted (so in time order). blob is
 * valid during the call only. Stops at the first call that returns
 * nonzero (which must be positive) and returns its value; 0 after the
 * last; -1 on a database error, with a message in err. */
int segtable_each(struct segtable *t, int64_t vm_id, int tier, int64_t from, int64_t to,
		  int (*fn)(void *arg, int64_t id, const void *blob, size_t len), void *arg, char *err,
		  size_t errlen);

/* Deletes the segment id. 0, or -1 with a message in err. */
int segtable_delete(struct segtable *t, int64_t id, char *err, size_t errlen);

/* Deletes the segments of a tier whose t_last is before before_ms. 0, or
 * -1 with a message in err. */
int segtable_expire(struct segtable *t, int tier, int64_t before_ms, char *err, size_t errlen);

#endif
