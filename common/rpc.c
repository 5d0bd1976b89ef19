#include "rpc.h"

#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "wire.h"

int rpc_open(nng_socket *sock, const char *url, int timeout_ms, int wait_for_peer, char *err, size_t errlen)
{
	int rv = nng_req0_open(sock);
	if (rv != 0) {
		snprintf(err, errlen, "opening a request socket: %s", nng_strerror(rv));
		return -1;
	}
	nng_socket_set_ms(*sock, NNG_OPT_RECVTIMEO, timeout_ms);
	nng_socket_set_ms(*sock, NNG_OPT_SENDTIMEO, timeout_ms);
	nng_socket_set_size(*sock, NNG_OPT_RECVMAXSZ, WIRE_MAX_MESSAGE);
	/* Resending is the caller's job, so a slow commit is not sent twice. */
	nng_socket_set_ms(*sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(*sock, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(*sock, NNG_OPT_RECONNMAXT, 2000);
	rv = nng_dial(*sock, url, NULL, wait_for_peer ? 0 : NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		snprintf(err, errlen, "cannot reach the collector at %s: %s", url, nng_strerror(rv));
		nng_close(*sock);
		return -1;
	}
	return 0;
}

int rpc_call_packed(nng_socket sock, const void *req, size_t len, Vigil__Envelope **reply, char *err,
		    size_t errlen)
{
	int rv = nng_send(sock, (void *)req, len, 0);
	if (rv != 0) {
		snprintf(err, errlen, "send: %s", nng_strerror(rv));
		return -1;
	}
	void *buf;
	size_t n;
	rv = nng_recv(sock, &buf, &n, NNG_FLAG_ALLOC);
	if (rv != 0) {
		snprintf(err, errlen, "no reply: %s", nng_strerror(rv));
		return -1;
	}
	Vigil__Error__Code code;
	*reply = wire_unpack(buf, n, clock_realtime_ms(), &code, err, errlen);
	nng_free(buf, n);
	return *reply ? 0 : -1;
}

int rpc_call(nng_socket sock, Vigil__Envelope *env, Vigil__Envelope **reply, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	if (wire_pack(env, &buf, &len) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = rpc_call_packed(sock, buf, len, reply, err, errlen);
	free(buf);
	return rc;
}
