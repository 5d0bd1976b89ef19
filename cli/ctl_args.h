/* vigilctl's command line: `vigilctl [OPTIONS] COMMAND [ARGS]`. */
#ifndef VIGIL_CTL_ARGS_H
#define VIGIL_CTL_ARGS_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"

enum ctl_command { CTL_STATUS, CTL_METRICS, CTL_HISTORY, CTL_HOSTS, CTL_VMS, CTL_SHOW,
		  CTL_SLA, CTL_ALERTS, CTL_AVAILABILITY };

#define CTL_MAX_TAGS 4

struct ctl_tag {
	char key[33];
	char value[129];
};

struct ctl_args {
	enum ctl_command command;
	const char *collector;  /* nng URL, used unless db is set */
	const char *db;         /* read this SQLite file directly */
	const char *explain_model; /* sla explain --model: the network to explain with (--db only) */
	int json;
	int csv;
	int timeout_ms;
	/* history, show */
	const char *vm;         /* name or UUID */
	const char *metric;
	struct ctl_tag tags[CTL_MAX_TAGS];
	unsigned n_tags;
	int64_t since_ms;       /* 0: from the start */
	int64_t until_ms;       /* 0: now */
	int64_t step_ms;        /* 0: intervals */
	/* vms */
	const char *host;
};

/* The time and duration options of every command, in common/timeparse.h's
 * grammar. On a text that does not parse, or a duration under min_ms, say
 * so on err ("vigilctl: OPT ...") and return -1. */
int ctl_parse_time(const char *opt, const char *text, int64_t now_ms, int64_t *out, FILE *err);
int ctl_parse_duration(const char *opt, const char *text, int64_t min_ms, int64_t *out, FILE *err);

/* Relative times (--since -1h) are taken against now_ms. */
enum args_result ctl_args_parse_at(int argc, char **argv, struct ctl_args *a, int64_t now_ms, FILE *out, FILE *err);
enum args_result ctl_args_parse(int argc, char **argv, struct ctl_args *a, FILE *out, FILE *err);

#endif
