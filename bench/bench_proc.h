/* The processes the store benchmark starts and measures: collectors on
 * fresh databases in its own directory, and vigilctl runs. Only these
 * processes are ever signalled, by PID; each collector also gets SIGTERM if
 * the benchmark dies (PR_SET_PDEATHSIG), so none is left behind. */
#ifndef VIGIL_BENCH_PROC_H
#define VIGIL_BENCH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vigil.pb-c.h"

struct collector_proc {
	pid_t pid;
	char url[320];  /* ipc://DIR/NAME.sock */
	char db[320];   /* DIR/NAME.db */
	char log[320];  /* its stderr */
	char conf[320]; /* DIR/empty.conf */
};

/* Starts BIN_DIR/vigil-collector listening on ipc://DIR/NAME.sock with a
 * fresh DIR/NAME.db (removed first) and an empty config file, plus extra
 * arguments (NULL-terminated, may be NULL), and waits until it answers.
 * 0, or -1 with a message in err (including the end of its log). */
int collector_start(struct collector_proc *c, const char *bin_dir, const char *dir, const char *name,
		    const char *const *extra, char *err, size_t errlen);

/* Stops c and starts it again on the same database, without the extra
 * arguments: a clean stop flushes the journal into segments. 0, or -1
 * with a message in err. */
int collector_restart(struct collector_proc *c, const char *bin_dir, char *err, size_t errlen);

/* SIGTERM, then waits up to 30 s (then SIGKILL). Returns its exit status,
 * or -1 if it had to be killed or had died of a signal. */
int collector_stop(struct collector_proc *c);

/* A "Vm...:" field of /proc/PID/status in KiB (VmRSS, VmHWM), or -1. */
long proc_status_kib(pid_t pid, const char *field);

/* User + system CPU seconds of a process (all its threads), or -1. */
double proc_cpu_seconds(pid_t pid);

/* Asks the collector for its StatsReply. 0 and *out set; 1 when it does
 * not serve StatsQuery (an older collector); -1 with a message in err. */
int collector_stats(const char *url, Vigil__StatsReply **out, char *err, size_t errlen);

/* Whether PROGRAM --help (run from bin_dir) mentions word. */
int program_help_mentions(const char *bin_dir, const char *program, const char *const *args, const char *word);

/* Runs argv[0] (a path) with stdout to out_path (or /dev/null when NULL)
 * and stderr to err_path (or /dev/null); returns its exit status (-1 if it
 * could not run or died of a signal) and its wall time in *seconds. */
int run_timed(char *const argv[], const char *out_path, const char *err_path, double *seconds);

/* Size of a file in bytes, 0 when it does not exist. */
uint64_t file_size(const char *path);

#endif
