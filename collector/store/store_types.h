/* The types the writer thread (store.c) and the engine share: an ingest
 * request's outcome and the store's counters. */
#ifndef VIGIL_STORE_TYPES_H
#define VIGIL_STORE_TYPES_H

#include <stdint.h>

enum store_result { STORE_STORED, STORE_DUPLICATE, STORE_FAILED };

/* Counters since open, for logs and benchmarks. */
struct store_stats {
	uint64_t batches, duplicates, samples, commits, flushes;
	uint64_t commit_ns, flush_ns;
	uint64_t journal_bytes, segment_bytes;
};

#endif
