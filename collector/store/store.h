/* The collector's interval store (docs/storage.md): schema migrations, the
 * temporal-interval ingest (coalescing by metric kind, in memory), group
 * commit from one writer thread, flushes into compressed segments, rollups
 * and retention. */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "sla_row_types.h"
#include "storage_config.h"
#include "store_types.h"
#include "vigil.pb-c.h"

struct store;

/* Opens (creating if needed) the database at path and brings its schema up
 * to date, with the default storage settings. readonly opens an existing
 * file for queries only. 0, or -1 with a message in err. */
int store_open(struct store **out, const char *path, int readonly, char *err, size_t errlen);

/* As store_open for writing, with cfg's settings (copied). Recovers the
 * in-memory state from the journal and starts the writer thread. */
int store_open_config(struct store **out, const char *path, const struct storage_config *cfg, char *err,
		      size_t errlen);

/* Stops the writer after the queued requests, flushes the journal into
 * segments and closes. */
void store_close(struct store *s);

/* The store's read-only connection (reader.h), for queries and tests: it
 * sees committed data only and is never used by the writer. SQLite refuses
 * any write through it (SQLITE_READONLY): every write goes through the
 * writer thread, as a request below. */
sqlite3 *store_db(struct store *s);

/* Stores one validated batch and returns once it is committed. A batch
 * whose sequence number is not above the host's last stored one is a
 * repeat: nothing is written and STORE_DUPLICATE is returned. */
enum store_result store_batch(struct store *s, const Vigil__Batch *b, char *err, size_t errlen);

/* Stores readings the collector derives itself (SLA states, P(violation))
 * for a VM the store already knows, coalesced like probe readings, and
 * returns once committed. They are not tied to a probe's batch sequence
 * numbers. 0, or -1 with a message in err. */
int store_derived(struct store *s, const char *vm_uuid, int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms,
		  Vigil__Sample *const *samples, size_t n, char *err, size_t errlen);

/* Asynchronous writes: done is called from the writer thread once the
 * request's group commit has finished (or failed); everything the request
 * points to must stay valid until then. Requests submitted together share
 * one commit, so many VMs' derived readings cost one fsync, not one each.
 * Requests run in the order they were submitted.
 *
 * The SLA checks' rows (sla_row_types.h): SLA_MODEL records the network a
 * collector start evaluates with (unless the latest row has it already);
 * ALERT_OPEN inserts an alert, and done finds the row's id in alert->id;
 * ALERT_PEAK stores a new peak and its cause; ALERT_CLOSE sets the end.
 * A failed SLA row fails only its own request, unless it took the group's
 * transaction with it. */
enum store_req_kind {
	STORE_REQ_BATCH = 0,
	STORE_REQ_DERIVED = 1,
	STORE_REQ_SLA_MODEL = 2,
	STORE_REQ_ALERT_OPEN = 3,
	STORE_REQ_ALERT_PEAK = 4,
	STORE_REQ_ALERT_CLOSE = 5,
};

struct store_req {
	int kind;                      /* enum store_req_kind */
	const Vigil__Batch *batch;     /* STORE_REQ_BATCH */
	const char *vm_uuid;           /* STORE_REQ_DERIVED: as store_derived */
	Vigil__Sample *const *samples;
	size_t n_samples;
	int64_t t_start_ms, t_end_ms;
	uint32_t interval_ms;
	const struct sla_model_row *model; /* STORE_REQ_SLA_MODEL */
	struct sla_alert_row *alert;       /* STORE_REQ_ALERT_* */
	void (*done)(struct store_req *r, enum store_result res, const char *err);
	void *arg;
	/* The store's own. */
	struct store_req *next;
	enum store_result result;
	char err[256];
};
void store_submit(struct store *s, struct store_req *r);

/* One SLA row request (kind STORE_REQ_SLA_MODEL with model, or
 * STORE_REQ_ALERT_* with alert), returning once committed; an open sets
 * alert->id. 0, or -1 with a message in err. */
int store_sla_model(struct store *s, const struct sla_model_row *m, char *err, size_t errlen);
int store_sla_alert(struct store *s, enum store_req_kind kind, struct sla_alert_row *a, char *err, size_t errlen);

/* Returns once everything submitted before it is committed (tests, and
 * callers that submitted asynchronously and now want to read). */
int store_sync(struct store *s, char *err, size_t errlen);

/* Moves the journal into segments now (normally done when it reaches
 * flush_journal_mb or flush_interval), and applies retention as of now_ms
 * (0: the wall clock). 0, or -1 with a message in err. */
int store_flush(struct store *s, int64_t now_ms, char *err, size_t errlen);

void store_get_stats(struct store *s, struct store_stats *out);

#endif
