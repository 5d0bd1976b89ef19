/* Conventions shared by the three programs' command lines. */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

#define VIGIL_VERSION "0.1.0"

/* Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

/* What an argument parser concluded. */
enum args_result {
	ARGS_RUN,        /* arguments valid: go on */
	ARGS_EXIT_OK,    /* --help or --version was printed: exit 0 */
	ARGS_USAGE_ERROR /* a message was printed: exit EXIT_USAGE */
};

/* Parses a whole-number option value in [min, max]. 0 on success. */
int cli_parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out);

/* Maps "error|warning|info|debug" to a log level; -1 if unknown. */
int cli_parse_log_level(const char *text);

#endif
