/* How vigilctl's commands reach their data: the collector over nng, or the
 * database file (--db), saying why on standard error when they cannot. */
#ifndef VIGIL_CTL_ASK_H
#define VIGIL_CTL_ASK_H

#include "ctl_args.h"
#include "store.h"
#include "vigil.pb-c.h"

/* Sends req to the collector and returns the reply when it is of the wanted
 * kind (the caller wire_free()s it); otherwise says why and returns NULL. */
Vigil__Envelope *ctl_ask(const struct ctl_args *a, Vigil__Envelope *req, Vigil__Envelope__BodyCase want);

/* Opens the database file read-only; NULL after saying why. */
struct store *ctl_open_db(const char *path);

#endif
