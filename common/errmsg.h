/* The "0, or -1 with a message in err" convention used across the
 * collector and its readers. */
#ifndef VIGIL_ERRMSG_H
#define VIGIL_ERRMSG_H

#include <stddef.h>

/* Formats the message into err (errlen bytes) and returns -1. */
int errmsg_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
