/* The collector's SQLite store: schema migrations and the temporal-interval
 * ingest (coalescing identical consecutive readings into one row). */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "vigil.pb-c.h"

struct store;

enum store_result { STORE_STORED, STORE_DUPLICATE, STORE_FAILED };

/* Opens (creating if needed) the database at path in WAL mode and brings its
 * schema up to date. readonly opens an existing file for queries only.
 * 0, or -1 with a message in err. */
int store_open(struct store **out, const char *path, int readonly, char *err, size_t errlen);
void store_close(struct store *s);
sqlite3 *store_db(struct store *s);

/* Stores one validated batch in a single transaction. A batch whose sequence
 * number is not above the host's last stored one is a repeat: nothing is
 * written and STORE_DUPLICATE is returned. */
enum store_result store_batch(struct store *s, const Vigil__Batch *b, char *err, size_t errlen);

/* Stores readings the collector derives itself (SLA states, P(violation))
 * for a VM the store already knows, coalesced like probe readings, in one
 * transaction. They are not tied to a probe's batch sequence numbers.
 * 0, or -1 with a message in err. */
int store_derived(struct store *s, const char *vm_uuid, int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms,
		  Vigil__Sample *const *samples, size_t n, char *err, size_t errlen);

/* The coalescing rule, separate so it can be tested on its own. */
enum interval_action { INTERVAL_NEW, INTERVAL_EXTEND };

struct open_interval {
	double value;
	int64_t t_end_ms;
};

/* A reading [t_start_ms, t_end_ms] with value extends prev when the value is
 * identical and the reading continues prev without a gap: no reading for
 * more than 1.5 intervals, and not starting before prev ended (a clock step
 * backwards starts a new row rather than rewriting history). prev NULL: no
 * open interval. */
enum interval_action interval_decide(const struct open_interval *prev, double value,
				     int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms);

#endif
