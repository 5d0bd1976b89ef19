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

#include "reader.h"
#include "server_stats.h"
#include "sla_live.h"
#include "store.h"

#define SERVER_DEFAULT_WORKERS 2
#define SERVER_MAX_WORKERS 64
/* Requests in flight at once; more wait in nng until a context is free. */
#define SERVER_CONTEXTS 256
/* How long a stop waits for nng to close the socket (see stop_all). */
#define SERVER_CLOSE_WAIT_MS 5000

/* Everything a server works with, passed in rather than held in globals:
 * the collector (collector/main.c) fills one and runs it. */
struct server_ctx {
	const char *url;
	const char *db_path;       /* each worker opens a read-only store_reader on it */
	unsigned workers;          /* 0: SERVER_DEFAULT_WORKERS */
	struct store *st;          /* batches go to its writer thread */
	struct sla_live *sla;      /* the live SLA checks and their lock; NULL: none */
	struct server_stats stats; /* what a StatsQuery answers; zero it before the first use */
};

/* Decodes one request, acts on it (batches synchronously) and encodes the
 * reply into a malloc'd buffer; queries go to the query dispatcher over
 * store (NULL: they are answered with an Error). Malformed requests get an
 * Error reply; this never fails except for lack of memory (-1). */
int server_handle(struct server_ctx *ctx, const struct store_reader *store, const uint8_t *req, size_t len,
		  uint8_t **reply, size_t *reply_len);

/* Listens and serves until *stop becomes non-zero. Returns 0 on a
 * requested stop, or -1 (with a logged reason) when the socket or the
 * workers cannot be set up. */
int server_run(struct server_ctx *ctx, volatile sig_atomic_t *stop);

#endif
