/* How every vigilctl command gets its answer: it builds the request it
 * would send to the collector and hands it here. Without --db it goes to
 * the collector over nng; with --db FILE the query dispatcher
 * (collector/query/dispatch.h) answers the very same request in process,
 * from a read-only connection to the file. Either way the reply is the
 * same message, and a failure is said once, the same way, on standard
 * error. */
#ifndef VIGIL_CTL_QUERY_H
#define VIGIL_CTL_QUERY_H

#include "ctl_args.h"
#include "vigil.pb-c.h"

/* A reply and how it is freed (the collector's was unpacked, the
 * dispatcher's built in place). */
struct ctl_reply {
	Vigil__Envelope *env;
	void (*free)(Vigil__Envelope *env);
};

/* Asks for req's answer (a->collector, or a->db; a->explain_model is the
 * model an SLA explain uses with --db). 0 with the reply, of kind want, in
 * *reply (free it with ctl_reply_free); -1 after saying why on standard
 * error: the collector or the file cannot be reached, or the answer is an
 * error. */
int ctl_query(const struct ctl_args *a, Vigil__Envelope *req, Vigil__Envelope__BodyCase want, struct ctl_reply *reply);

void ctl_reply_free(struct ctl_reply *reply);

#endif
