/* Read-side queries over the store, shared by the collector (answering
 * vigilctl over nng) and vigilctl --db (reading the file directly). Each
 * fills a reply message of schema/vigil.proto; every field is malloc'd, so
 * query_reply_free (protobuf-c's free_unpacked) releases it. */
#ifndef VIGIL_QUERY_H
#define VIGIL_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "vigil.pb-c.h"

/* A host is "stale" when it has sent nothing for this many of its intervals. */
#define STATUS_STALE_INTERVALS 3

/* A history reply carries at most this many rows (about 12 MB on the wire);
 * beyond it the reply says truncated. vigilctl --db has no limit. */
#define HISTORY_MAX_ROWS 100000

/* Fills a StatusReply with one VmStatus per VM, ordered by host then VM.
 * state is the VM's reported state, "gone" when its host's latest batch no
 * longer lists it, or "stale" when the host itself stopped reporting.
 * Returns 0, or -1 with a message in err. */
int query_status(sqlite3 *db, int64_t now_ms, Vigil__StatusReply **out, char *err, size_t errlen);
void status_reply_free(Vigil__StatusReply *r);

/* Intervals, or rollups at a step, of a VM's series (see HistoryQuery).
 * max_rows 0: no limit. -1 with a message in err; a query naming nothing
 * that exists returns an empty reply. */
int query_history(sqlite3 *db, int64_t now_ms, const Vigil__HistoryQuery *q, size_t max_rows,
		  Vigil__HistoryReply **out, char *err, size_t errlen);
/* Frees what query_history made. */
void history_reply_free(Vigil__HistoryReply *r);
/* The row that carries row's names: row itself, or for a row that
 * continues the previous row's series (empty names, see HistoryRow in
 * schema/vigil.proto) prev, the names of the row before. */
const Vigil__HistoryRow *history_row_names(const Vigil__HistoryRow *row, const Vigil__HistoryRow *prev);

int query_hosts(sqlite3 *db, int64_t now_ms, Vigil__HostsReply **out, char *err, size_t errlen);

/* host NULL or "": every host. */
int query_vms(sqlite3 *db, int64_t now_ms, const char *host, Vigil__VmsReply **out, char *err, size_t errlen);

/* -1 with "no VM named ..." when vm is unknown. */
int query_show(sqlite3 *db, int64_t now_ms, const char *vm, Vigil__ShowReply **out, char *err, size_t errlen);

#endif
