/* Request/reply over nng req0: used by the probe to ship batches and by
 * vigilctl to query the collector. */
#ifndef VIGIL_RPC_H
#define VIGIL_RPC_H

#include <nng/nng.h>
#include <stddef.h>

#include "vigil.pb-c.h"

/* Opens a req0 socket to url. wait_for_peer: dial synchronously and fail at
 * once when nothing listens (vigilctl); otherwise dial in the background and
 * keep reconnecting (the probe). 0, or -1 with a message in err. */
int rpc_open(nng_socket *sock, const char *url, int timeout_ms, int wait_for_peer, char *err, size_t errlen);

/* Sends one packed request and waits for the reply, decoded into *reply.
 * 0, or -1 with a message in err (timeout, connection, undecodable reply). */
int rpc_call_packed(nng_socket sock, const void *req, size_t len, Vigil__Envelope **reply, char *err,
		    size_t errlen);

/* As rpc_call_packed, packing env first. */
int rpc_call(nng_socket sock, Vigil__Envelope *env, Vigil__Envelope **reply, char *err, size_t errlen);

#endif
