/* Read-side queries over the store, shared by the collector (answering
 * vigilctl over nng) and vigilctl --db (reading the file directly). */
#ifndef VIGIL_QUERY_H
#define VIGIL_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "vigil.pb-c.h"

/* A host is "stale" when it has sent nothing for this many of its intervals. */
#define STATUS_STALE_INTERVALS 3


/* Fills a StatusReply with one VmStatus per VM, ordered by host then VM.
 * state is the VM's reported state, "gone" when its host's latest batch no
 * longer lists it, or "stale" when the host itself stopped reporting.
 * Returns 0, or -1 with a message in err. */
int query_status(sqlite3 *db, int64_t now_ms, Vigil__StatusReply **out, char *err, size_t errlen);
void status_reply_free(Vigil__StatusReply *r);

#endif
