#include "sla_hook.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

extern char **environ;

void sla_hooks_init(struct sla_hooks *h, const char *command, int timeout_ms)
{
	memset(h, 0, sizeof(*h));
	h->command = command && command[0] ? command : NULL;
	h->timeout_ms = timeout_ms;
}

/* environ plus env; the VIGIL_* names given override inherited ones. */
static char **merged_env(char *const *env)
{
	size_t n_env = 0, n_inherited = 0;
	while (env && env[n_env])
		n_env++;
	while (environ && environ[n_inherited])
		n_inherited++;
	char **all = calloc(n_env + n_inherited + 1, sizeof(*all));
	if (!all)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n_inherited; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t name_len = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
		int replaced = 0;
		for (size_t j = 0; j < n_env && !replaced; j++)
			replaced = strncmp(env[j], environ[i], name_len) == 0;
		if (!replaced)
			all[k++] = environ[i];
	}
	for (size_t j = 0; j < n_env; j++)
		all[k++] = env[j];
	return all;
}

pid_t sla_hook_start(struct sla_hooks *h, char *const *env, const char *what)
{
	if (!h->command)
		return 0;
	if (h->n_running == SLA_HOOK_MAX_RUNNING) {
		log_error("action hook for %s not run: %d earlier runs are still going (each is killed after %d s)",
			  what, SLA_HOOK_MAX_RUNNING, h->timeout_ms / 1000);
		return -1;
	}
	posix_spawnattr_t attr;
	posix_spawn_file_actions_t files;
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_init(&files);
	/* Its own process group, so a timeout kills what it started too, and
	 * no terminal signal meant for the collector reaches it. Default
	 * signal handling and an empty mask, whatever the collector set. */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

	char **envp = merged_env(env);
	char *argv[] = { "sh", "-c", (char *)h->command, NULL };
	pid_t pid = -1;
	int rc = envp ? posix_spawn(&pid, "/bin/sh", &files, &attr, argv, envp) : ENOMEM;
	free(envp);
	posix_spawn_file_actions_destroy(&files);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		log_error("action hook for %s could not start: %s", what, strerror(rc));
		return -1;
	}
	struct sla_hook_run *r = &h->run[h->n_running++];
	r->pid = pid;
	r->started_ms = clock_monotonic_ms();
	r->killed = 0;
	snprintf(r->what, sizeof(r->what), "%s", what);
	log_info("action hook for %s started (pid %d)", what, (int)pid);
	return pid;
}

static void log_exit(const struct sla_hook_run *r, int status, int64_t now_ms)
{
	double secs = (double)(now_ms - r->started_ms) / 1000.0;
	if (r->killed)
		log_warn("action hook for %s killed after its timeout (%.1f s)", r->what, secs);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info("action hook for %s exited with status 0 after %.1f s", r->what, secs);
	else if (WIFEXITED(status))
		log_warn("action hook for %s exited with status %d after %.1f s", r->what, WEXITSTATUS(status), secs);
	else
		log_warn("action hook for %s ended by signal %d after %.1f s", r->what, WTERMSIG(status), secs);
}

int sla_hook_reap(struct sla_hooks *h, int64_t now_ms)
{
	for (int i = 0; i < h->n_running;) {
		struct sla_hook_run *r = &h->run[i];
		int status = 0;
		pid_t got = waitpid(r->pid, &status, WNOHANG);
		if (got == r->pid || (got < 0 && errno == ECHILD)) {
			if (got == r->pid)
				log_exit(r, status, now_ms);
			h->run[i] = h->run[--h->n_running];
			continue;
		}
		if (!r->killed && now_ms - r->started_ms >= h->timeout_ms) {
			kill(-r->pid, SIGKILL);
			r->killed = 1;
		}
		i++;
	}
	return h->n_running;
}

void sla_hooks_stop(struct sla_hooks *h, int grace_ms)
{
	int64_t deadline = clock_monotonic_ms() + grace_ms;
	while (sla_hook_reap(h, clock_monotonic_ms()) > 0 && clock_monotonic_ms() < deadline) {
		struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	for (int i = 0; i < h->n_running; i++) {
		kill(-h->run[i].pid, SIGKILL);
		h->run[i].killed = 1;
	}
	/* A killed process is gone within moments unless stuck in the kernel;
	 * then it is left to init rather than holding up the stop. */
	deadline = clock_monotonic_ms() + 2000;
	while (sla_hook_reap(h, clock_monotonic_ms()) > 0 && clock_monotonic_ms() < deadline) {
		struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	if (h->n_running > 0)
		log_warn("%d action hook processes did not end after SIGKILL", h->n_running);
}
