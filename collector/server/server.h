/* The collector's request handling: an nng rep socket with many contexts,
 * so many probes' batches are in flight while a group commit is pending.
 * Worker threads decode requests and answer queries; batches go to the
 * store's writer thread and are acknowledged after the commit holding
 * them. */
#ifndef VIGIL_SERVER_H
#define VIGIL_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "store.h"

#define SERVER_DEFAULT_WORKERS 2
#define SERVER_MAX_WORKERS 64
/* Requests in flight at once; more wait in nng until a context is free. */
#define SERVER_CONTEXTS 256
/* How long a stop waits for nng to close the socket (see stop_all). */
#define SERVER_CLOSE_WAIT_MS 5000

/* Decodes one request, acts on it (batches synchronously) and encodes the
 * reply into a malloc'd buffer; queries read qdb. Malformed requests get an
 * Error reply; this never fails except for lack of memory (-1). */
int server_handle(struct store *st, sqlite3 *qdb, const uint8_t *req, size_t len, uint8_t **reply,
		  size_t *reply_len);

struct server_options {
	const char *url;
	const char *db_path; /* each worker opens it read-only for queries */
	unsigned workers;
};

/* Listens and serves until *stop becomes non-zero. Returns 0 on a
 * requested stop, or -1 (with a logged reason) when the socket or the
 * workers cannot be set up. */
int server_run(struct store *st, const struct server_options *o, volatile sig_atomic_t *stop);

#endif
