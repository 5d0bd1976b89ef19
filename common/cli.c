#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int cli_parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	if (!text || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_log_level(const char *text)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	for (int i = 0; i < 4; i++) {
		if (strcmp(text, names[i]) == 0)
			return LOG_LVL_ERROR + i;
	}
	return -1;
}
