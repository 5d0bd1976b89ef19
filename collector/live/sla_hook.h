/* The action hook (the design's Execute step): an operator's command run
 * when an alert opens or closes. It runs in its own process group, never
 * waited for: sla_hook_reap() collects finished runs without blocking and
 * kills (the whole group of) a run past its timeout, logging each exit. */
#ifndef VIGIL_SLA_HOOK_H
#define VIGIL_SLA_HOOK_H

#include <stdint.h>
#include <sys/types.h>

#define SLA_HOOK_MAX_RUNNING 32
#define SLA_HOOK_MAX_ENV     16

struct sla_hook_run {
	pid_t pid;        /* also the process group */
	int64_t started_ms; /* monotonic */
	int killed;
	char what[160];   /* for the log: "open alert 12 of vm db1" */
};

struct sla_hooks {
	const char *command; /* run with /bin/sh -c; NULL or "" = none */
	int timeout_ms;
	struct sla_hook_run run[SLA_HOOK_MAX_RUNNING];
	int n_running;
};

void sla_hooks_init(struct sla_hooks *h, const char *command, int timeout_ms);

/* Starts the command with the collector's environment plus env (NAME=VALUE
 * strings, NULL-terminated). Returns its pid, 0 when no command is set,
 * or -1 (logged) when it cannot start or too many runs are still going. */
pid_t sla_hook_start(struct sla_hooks *h, char *const *env, const char *what);

/* Collects finished runs and kills overdue ones; never blocks. now_ms is
 * monotonic. Returns how many are still running. */
int sla_hook_reap(struct sla_hooks *h, int64_t now_ms);

/* At shutdown: gives running hooks up to grace_ms, then kills them. */
void sla_hooks_stop(struct sla_hooks *h, int grace_ms);

#endif
