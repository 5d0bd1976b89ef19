/* vigil-probe's command line. */
#ifndef VIGIL_PROBE_ARGS_H
#define VIGIL_PROBE_ARGS_H

#include <stdio.h>
#include <sys/types.h>

#include "cli.h"
#include "discovery.h"

#define PROBE_MAX_PID_TARGETS 64
#define PROBE_DEFAULT_LIBVIRT "qemu:///system"
#define PROBE_DEFAULT_QUEUE 3600

#define PROBE_PID_FILE_MAX 256

/* --pid NAME=PID, or NAME=/PATH of a pid file (QEMU's -pidfile) that is
 * followed: a new process named there is the same VM restarted. */
struct pid_target_arg {
	char name[VM_NAME_MAX];
	pid_t pid;                          /* 0 with a pid file */
	char pid_file[PROBE_PID_FILE_MAX];  /* "" with a fixed PID */
	struct vm_disk disks[VM_MAX_DISKS]; /* from --disk DEV=FILE after it */
	unsigned n_disks;
};

struct probe_args {
	const char *collector;
	const char *libvirt_uri;   /* NULL with --no-libvirt */
	const char *host;          /* NULL: gethostname() */
	unsigned interval_ms;
	unsigned rediscover_ms;
	unsigned queue_max;
	int once;
	int to_stdout;
	int log_level;
	struct pid_target_arg pids[PROBE_MAX_PID_TARGETS];
	size_t n_pids;
};

/* Parses "NAME=PID" or "NAME=/absolute/pid/file" into t. 0, or -1 if
 * malformed. */
int parse_pid_target(const char *text, struct pid_target_arg *t);

/* Parses "DEV=FILE" (DEV letters and digits, FILE an absolute path) into d.
 * 0, or -1 if malformed or too long. */
int parse_disk_arg(const char *text, struct vm_disk *d);

/* Parses "SECONDS" (may be fractional, 0.1-3600) into milliseconds. */
int parse_interval(const char *text, unsigned *ms);

enum args_result probe_args_parse(int argc, char **argv, struct probe_args *a, FILE *out, FILE *err);

#endif
