/* The collector's request loop: nng rep socket in, store and queries out. */
#ifndef VIGIL_SERVER_H
#define VIGIL_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define VIGIL_DEFAULT_LISTEN "tcp://127.0.0.1:7450"

/* Decodes one request, acts on it and encodes the reply into a malloc'd
 * buffer. Malformed requests get an Error reply; this never fails except
 * for lack of memory (-1). */
int server_handle(struct store *st, const uint8_t *req, size_t len, uint8_t **reply, size_t *reply_len);

/* Listens on url and serves requests until *stop becomes non-zero.
 * Returns 0 on a requested stop, or -1 (with a logged reason) when the
 * socket cannot be set up. */
int server_run(struct store *st, const char *url, volatile sig_atomic_t *stop);

#endif
