#include "bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "rpc.h"
#include "wire.h"

extern char **environ;

#define START_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 30000
#define MAX_ARGS 32

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void redirect(int fd, const char *path, int flags)
{
	int f = open(path ? path : "/dev/null", flags, 0644);
	if (f >= 0) {
		dup2(f, fd);
		close(f);
	}
}

/* The child side of a fork: becomes argv[0]. SIGTERM follows the
 * benchmark's death so nothing outlives it. */
static void exec_child(char *const argv[], const char *out_path, const char *err_path)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	redirect(STDIN_FILENO, NULL, O_RDONLY);
	redirect(STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC);
	redirect(STDERR_FILENO, err_path, O_WRONLY | O_CREAT | O_TRUNC);
	execv(argv[0], argv);
	_exit(127);
}

static void log_tail(const char *path, char *out, size_t outlen)
{
	out[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	/* The last lines are the ones that say why it stopped. */
	size_t keep = n < outlen - 1 ? n : outlen - 1;
	memcpy(out, buf + n - keep, keep);
	out[keep] = '\0';
}

static int wait_until_answering(struct collector_proc *c, char *err, size_t errlen)
{
	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 50) {
		int status;
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			char tail[512];
			log_tail(c->log, tail, sizeof(tail));
			snprintf(err, errlen, "vigil-collector exited at start (status %d): %s", status, tail);
			c->pid = 0;
			return -1;
		}
		nng_socket sock;
		char why[256];
		if (rpc_open(&sock, c->url, 1000, 1, why, sizeof(why)) == 0) {
			nng_close(sock);
			return 0;
		}
		sleep_ms(50);
	}
	snprintf(err, errlen, "vigil-collector did not answer on %s within %d s", c->url, START_TIMEOUT_MS / 1000);
	collector_stop(c);
	return -1;
}

/* Runs BIN_DIR/vigil-collector on c's paths and waits until it answers. */
static int collector_spawn(struct collector_proc *c, const char *bin_dir, const char *const *extra, char *err,
			   size_t errlen)
{
	char bin[320];
	snprintf(bin, sizeof(bin), "%s/vigil-collector", bin_dir);
	const char *argv[MAX_ARGS] = { bin,   "--config", c->conf, "--listen", c->url,
				       "--db", c->db,     "--log-level", "warning" };
	int n = 9;
	for (; extra && *extra && n < MAX_ARGS - 1; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	if (access(bin, X_OK) != 0) {
		snprintf(err, errlen, "%s: %s (run make first)", bin, strerror(errno));
		return -1;
	}
	c->pid = fork();
	if (c->pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (c->pid == 0)
		exec_child((char *const *)argv, NULL, c->log);
	return wait_until_answering(c, err, errlen);
}

int collector_start(struct collector_proc *c, const char *bin_dir, const char *dir, const char *name,
		    const char *const *extra, char *err, size_t errlen)
{
	char side[340];
	memset(c, 0, sizeof(*c));
	snprintf(c->conf, sizeof(c->conf), "%s/empty.conf", dir);
	snprintf(c->url, sizeof(c->url), "ipc://%s/%s.sock", dir, name);
	snprintf(c->db, sizeof(c->db), "%s/%s.db", dir, name);
	snprintf(c->log, sizeof(c->log), "%s/%s.log", dir, name);
	/* A fresh database, and no settings from the host's own config file. */
	unlink(c->db);
	snprintf(side, sizeof(side), "%s-wal", c->db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", c->db);
	unlink(side);
	FILE *f = fopen(c->conf, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", c->conf, strerror(errno));
		return -1;
	}
	fputs("# Empty: the benchmark gives every setting on the command line.\n", f);
	fclose(f);
	return collector_spawn(c, bin_dir, extra, err, errlen);
}

int collector_restart(struct collector_proc *c, const char *bin_dir, char *err, size_t errlen)
{
	int status = collector_stop(c);
	if (status != 0) {
		snprintf(err, errlen, "vigil-collector exited with status %d when stopped (see %s)", status, c->log);
		return -1;
	}
	return collector_spawn(c, bin_dir, NULL, err, errlen);
}

int collector_stop(struct collector_proc *c)
{
	if (c->pid <= 0)
		return -1;
	int status = 0;
	kill(c->pid, SIGTERM);
	for (int waited = 0; waited < STOP_TIMEOUT_MS; waited += 20) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			c->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		sleep_ms(20);
	}
	fprintf(stderr, "store_bench: collector %d did not stop within %d s; killing it\n", c->pid,
		STOP_TIMEOUT_MS / 1000);
	kill(c->pid, SIGKILL);
	waitpid(c->pid, &status, 0);
	c->pid = 0;
	return -1;
}

long proc_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kib = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			kib = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

double proc_cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces: utime is the
	 * 14th field, stime the 15th. */
	const char *p = strrchr(buf, ')');
	unsigned long utime, stime;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

int collector_stats(const char *url, Vigil__StatsReply **out, char *err, size_t errlen)
{
	nng_socket sock;
	if (rpc_open(&sock, url, 10000, 1, err, errlen) < 0)
		return -1;
	Vigil__Envelope req = VIGIL__ENVELOPE__INIT, *reply = NULL;
	Vigil__StatsQuery q = VIGIL__STATS_QUERY__INIT;
	req.body_case = VIGIL__ENVELOPE__BODY_STATS_QUERY;
	req.stats_query = &q;
	int rc = rpc_call(sock, &req, &reply, err, errlen);
	nng_close(sock);
	if (rc < 0)
		return -1;
	if (reply->body_case != VIGIL__ENVELOPE__BODY_STATS_REPLY) {
		wire_free(reply);
		return 1;
	}
	*out = reply->stats_reply;
	reply->stats_reply = NULL;
	reply->body_case = VIGIL__ENVELOPE__BODY__NOT_SET;
	wire_free(reply);
	return 0;
}

int program_help_mentions(const char *bin_dir, const char *program, const char *const *args, const char *word)
{
	char bin[320], out[] = "/tmp/vigil-bench-help.XXXXXX";
	const char *argv[MAX_ARGS] = { bin };
	int n = 1;
	snprintf(bin, sizeof(bin), "%s/%s", bin_dir, program);
	for (; args && *args && n < MAX_ARGS - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	int fd = mkstemp(out);
	if (fd < 0)
		return 0;
	close(fd);
	double secs;
	run_timed((char *const *)argv, out, NULL, &secs);
	int found = 0;
	FILE *f = fopen(out, "r");
	char line[512];
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, word) != NULL;
	if (f)
		fclose(f);
	unlink(out);
	return found;
}

/* posix_spawn rather than fork: glibc spawns with CLONE_VM, so the time
 * measured is the command's own and not the cost of copying this process's
 * page tables, which grow with the traces the phases keep in memory (a fork
 * added about 5 ms to every vigilctl run in the history phase). */
int run_timed(char *const argv[], const char *out_path, const char *err_path, double *seconds)
{
	posix_spawn_file_actions_t fa;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path ? out_path : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_path ? err_path : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint64_t t0 = clock_monotonic_ns();
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	*seconds = (double)(clock_monotonic_ns() - t0) / 1e9;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}
