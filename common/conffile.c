#include "conffile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int conffile_load(config_t *cfg, const char *path, int required, char *err, size_t errlen)
{
	config_init(cfg);
	if (access(path, F_OK) != 0 && errno == ENOENT && !required)
		return 0;
	if (config_read_file(cfg, path) == CONFIG_TRUE)
		return 0;
	if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	else
		snprintf(err, errlen, "%s:%d: %s", path, config_error_line(cfg), config_error_text(cfg));
	return -1;
}
