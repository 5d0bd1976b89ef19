/* The plain baseline the store is compared with: the same samples written
 * to SQLite one row each, the way a naive store would, with the collector's
 * durability (WAL, synchronous=FULL) and one transaction per batch. */
#ifndef VIGIL_BENCH_SQLITE_BASELINE_H
#define VIGIL_BENCH_SQLITE_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

struct baseline_result {
	uint64_t samples;
	uint64_t transactions;
	double sql_seconds; /* inside SQLite only: BEGIN to COMMIT, summed; generation excluded */
	double sql_cpu_seconds; /* this thread's CPU time over the same sections */
	uint64_t bytes;     /* the file plus its -wal after a checkpoint */
};

/* Inserts every sample of the trace as a row (series INTEGER, t_ms
 * INTEGER, value REAL) of a rowid table without other indexes, through one
 * prepared statement, one transaction per batch, batches in the order a
 * collector gets them (interval by interval, host by host), into a fresh
 * database at path. 0, or -1 with a message in err. */
int baseline_insert(const struct trace_shape *s, const char *path, struct baseline_result *out, char *err,
		    size_t errlen);

#endif
