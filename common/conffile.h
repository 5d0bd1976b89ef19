/* Configuration files (libconfig syntax, with comments), read with errors
 * an operator can act on. */
#ifndef VIGIL_CONFFILE_H
#define VIGIL_CONFFILE_H

#include <libconfig.h>
#include <stddef.h>

/* Reads path into cfg (config_init is done here; config_destroy is the
 * caller's). A missing file is an error only when required is non-zero, and
 * otherwise leaves cfg empty. 0, or -1 with "FILE:LINE: what" in err. */
int conffile_load(config_t *cfg, const char *path, int required, char *err, size_t errlen);

#endif
