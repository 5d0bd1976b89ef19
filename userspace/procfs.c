/* What discovery reads from /proc: the threads of a process and their vCPU
 * indexes, and the small helpers the other discovery files share (pid
 * files, command lines). See discovery.h for the contract. */
#include "discovery.h"
#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses s as a plain decimal number: digits only (no blanks, no sign, as
 * strtol would otherwise allow), no larger than max. *end gets the first
 * character after the digits. */
static bool parse_decimal(const char *s, long max, long *value, const char **end)
{
	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	char *after;
	long v = strtol(s, &after, 10);
	if (errno == ERANGE || v > max)
		return false;
	*value = v;
	*end = after;
	return true;
}

/* A /proc directory entry or a pid file's content as a pid: a positive
 * number, optionally followed by a newline (pid files end with one). */
bool parse_pid(const char *s, pid_t *pid)
{
	long v;
	const char *end;
	if (!parse_decimal(s, INT_MAX, &v, &end) || v <= 0)
		return false;
	if (*end == '\n')
		end++;
	if (*end != '\0')
		return false;
	*pid = (pid_t)v;
	return true;
}

/* Reads up to len - 1 bytes of a small file (a comm, a pid file) and
 * NUL-terminates them. Returns the byte count or a negative errno. */
ssize_t read_small_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t used = 0;
	while (used < len - 1) {
		ssize_t n = read(fd, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			return -saved;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	return (ssize_t)used;
}

/* QEMU command lines run to a few kilobytes; anything beyond this is not a
 * QEMU we care about and is not worth the memory. */
#define CMDLINE_MAX (1u << 20)

/* Reads /proc/PID/cmdline whole (NUL-separated arguments) into a malloc'd
 * buffer. Returns 0 or a negative errno. */
static int read_cmdline(pid_t pid, char **args, size_t *len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);
	int rc = buf ? 0 : -ENOMEM;
	while (rc == 0) {
		if (used == cap) {
			char *bigger = cap < CMDLINE_MAX ? realloc(buf, cap * 2) : NULL;
			if (!bigger) {
				rc = -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		else if (n == 0)
			break;
		else
			used += (size_t)n;
	}
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*args = buf;
	*len = used;
	return 0;
}

/* Whether the NUL-separated argument list holds "-uuid" (or "--uuid")
 * immediately followed by uuid. libvirt always passes the two as separate
 * arguments. The last argument may lack its NUL if the process rewrote its
 * command line, so every comparison is bounded by the buffer. */
static bool args_have_uuid(const char *args, size_t len, const char *uuid)
{
	const char *end = args + len;
	bool after_uuid_flag = false;
	for (const char *arg = args; arg < end;) {
		size_t n = strnlen(arg, (size_t)(end - arg));
		if (after_uuid_flag && n == strlen(uuid) && strncasecmp(arg, uuid, n) == 0)
			return true;
		after_uuid_flag = (n == 5 && memcmp(arg, "-uuid", 5) == 0) ||
				  (n == 6 && memcmp(arg, "--uuid", 6) == 0);
		arg += n + 1;
	}
	return false;
}

bool process_has_uuid_arg(pid_t pid, const char *uuid)
{
	char *args = NULL;
	size_t len = 0;
	if (read_cmdline(pid, &args, &len) < 0)
		return false;
	bool found = args_have_uuid(args, len, uuid);
	free(args);
	return found;
}

/* A process exists if it can be signalled (EPERM still means it is there)
 * and this mount of /proc shows it. */
bool process_exists(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}

/* --- threads ------------------------------------------------------------- */

/* QEMU names each vCPU thread "CPU <index>/<accelerator>". */
static bool is_vcpu_accelerator(const char *s)
{
	static const char *const accelerators[] = { "KVM", "TCG", "HVF", "WHPX", "NVMM" };
	for (size_t i = 0; i < sizeof(accelerators) / sizeof(accelerators[0]); i++)
		if (strcmp(s, accelerators[i]) == 0)
			return true;
	return false;
}

/* Round-robin (single-threaded) TCG runs every vCPU of the guest, one after
 * the other, on this one thread. */
#define TCG_ROUND_ROBIN_THREAD "ALL CPUs/TCG"

int vcpu_index_from_comm(const char *comm)
{
	static const char prefix[] = "CPU ";
	if (comm && strcmp(comm, TCG_ROUND_ROBIN_THREAD) == 0)
		return 0;
	if (!comm || strncmp(comm, prefix, sizeof(prefix) - 1) != 0)
		return -1;

	long index;
	const char *end;
	if (!parse_decimal(comm + sizeof(prefix) - 1, INT_MAX, &index, &end))
		return -1;
	if (*end != '/' || !is_vcpu_accelerator(end + 1))
		return -1;
	return (int)index;
}

const struct host_paths host_paths_default = { .proc = "/proc", .cgroup = "/sys/fs/cgroup" };

/* Reads a thread's name without its trailing newline. Fails (negative errno)
 * when the thread has exited. */
static int read_thread_comm(const struct host_paths *hp, pid_t pid, pid_t tid, char *comm, size_t len)
{
	char path[PATH_MAX];
	char raw[64];
	snprintf(path, sizeof(path), "%s/%d/task/%d/comm", hp->proc, (int)pid, (int)tid);
	ssize_t read_rc = read_small_file(path, raw, sizeof(raw));
	if (read_rc < 0)
		return (int)read_rc;
	size_t n = strcspn(raw, "\n");
	if (n > len - 1)
		n = len - 1;    /* the kernel keeps comm shorter; be safe anyway */
	memcpy(comm, raw, n);
	comm[n] = '\0';
	return 0;
}

int proc_list_threads(pid_t pid, struct thread_info **out)
{
	return proc_list_threads_at(&host_paths_default, pid, out);
}

int proc_list_threads_at(const struct host_paths *hp, pid_t pid, struct thread_info **out)
{
	*out = NULL;
	if (pid <= 0)
		return -EINVAL;

	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%d/task", hp->proc, (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return -errno;

	struct thread_info *threads = NULL;
	size_t count = 0, cap = 0;
	int rc = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		struct thread_info t = { .vcpu = -1 };
		if (!parse_pid(entry->d_name, &t.tid))
			continue;       /* "." and ".." */
		if (read_thread_comm(hp, pid, t.tid, t.comm, sizeof(t.comm)) < 0)
			continue;       /* exited since readdir() saw it */
		t.vcpu = vcpu_index_from_comm(t.comm);

		if (count == cap) {
			size_t new_cap = cap ? cap * 2 : 16;
			struct thread_info *bigger = realloc(threads, new_cap * sizeof(*threads));
			if (!bigger) {
				rc = -ENOMEM;
				break;
			}
			threads = bigger;
			cap = new_cap;
		}
		threads[count++] = t;
	}
	closedir(dir);

	snprintf(path, sizeof(path), "%s/%d", hp->proc, (int)pid);
	if (rc == 0 && count == 0 && access(path, F_OK) != 0)
		rc = -ENOENT;   /* the whole process went away while we read */
	if (rc < 0) {
		free(threads);
		return rc;
	}
	*out = threads;
	return (int)count;
}
