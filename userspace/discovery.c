/* Finding the VMs of this host and the threads and cgroups of their
 * processes. See discovery.h for the contract; the notes here explain the
 * choices made along the way. */
#include "discovery.h"
#include "clock.h"
#include "log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libvirt/virterror.h>

/* ------------------------------------------------------------------------ */
/* Small /proc helpers                                                      */
/* ------------------------------------------------------------------------ */

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
static bool parse_pid(const char *s, pid_t *pid)
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
static ssize_t read_small_file(const char *path, char *buf, size_t len)
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

static bool process_has_uuid_arg(pid_t pid, const char *uuid)
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
static bool process_exists(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */
/* ------------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------------ */
/* Cgroups                                                                  */
/* ------------------------------------------------------------------------ */

/* Whether the comma-separated controller list of a /proc/PID/cgroup line
 * names controller exactly ("cpu" must not match "cpuset"). */
static bool has_controller(const char *list, const char *controller)
{
	size_t want = strlen(controller);
	while (*list) {
		size_t n = strcspn(list, ",");
		if (n == want && strncmp(list, controller, n) == 0)
			return true;
		list += n;
		if (*list == ',')
			list++;
	}
	return false;
}

/* The candidate paths found in /proc/PID/cgroup. */
struct cgroup_paths {
	char *unified;  /* the "0::" line (cgroup v2 or the hybrid unified tree) */
	char *cpu;      /* the v1 hierarchy with the cpu controller */
	char *cpuacct;  /* the v1 hierarchy with the cpuacct controller */
	char *memory;   /* the v1 hierarchy with the memory controller */
};

static void cgroup_paths_free(struct cgroup_paths *paths)
{
	free(paths->unified);
	free(paths->cpu);
	free(paths->cpuacct);
	free(paths->memory);
}

/* Splits "hierarchy-id:controllers:path" and records the path if the line is
 * one of the candidates. The path itself may contain ':'. */
static int note_cgroup_line(char *line, struct cgroup_paths *paths)
{
	line[strcspn(line, "\n")] = '\0';
	char *controllers = strchr(line, ':');
	if (!controllers)
		return 0;
	*controllers++ = '\0';
	char *path = strchr(controllers, ':');
	if (!path)
		return 0;
	*path++ = '\0';

	char **slot = NULL;
	if (strcmp(line, "0") == 0 && controllers[0] == '\0')
		slot = &paths->unified;
	else if (has_controller(controllers, "cpu"))
		slot = &paths->cpu;
	else if (has_controller(controllers, "cpuacct"))
		slot = &paths->cpuacct;
	else if (has_controller(controllers, "memory"))
		slot = &paths->memory;
	if (!slot || *slot)
		return 0;
	*slot = strdup(path);
	return *slot ? 0 : -ENOMEM;
}

/* A host is pure cgroup v2 when the unified hierarchy is mounted at the top;
 * on a hybrid host it sits below, at /sys/fs/cgroup/unified. */
static bool host_is_pure_cgroup_v2(const struct host_paths *hp)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", hp->cgroup);
	return access(path, F_OK) == 0;
}

/* Which cgroup a process is accounted in, CPU-wise:
 *  - pure v2 host: the "0::" path; the unified tree is the only one and
 *    carries the cpu controller.
 *  - hybrid or pure v1 host: the v1 hierarchy holding the cpu controller (or,
 *    failing that, cpuacct). On a hybrid host the "0::" line is systemd's
 *    controller-less tracking tree, which says where the process is grouped
 *    but has no CPU figures, so it only serves as the last resort.
 * Paths are as /proc shows them, i.e. relative to this process's cgroup
 * namespace root. */
static int read_cgroup_paths(const struct host_paths *hp, pid_t pid, struct cgroup_paths *paths)
{
	if (pid <= 0)
		return -EINVAL;

	char file[PATH_MAX];
	snprintf(file, sizeof(file), "%s/%d/cgroup", hp->proc, (int)pid);
	FILE *f = fopen(file, "re");
	if (!f)
		return -errno;

	char *line = NULL;
	size_t line_cap = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &line_cap, f) >= 0)
		rc = note_cgroup_line(line, paths);
	free(line);
	fclose(f);
	return rc;
}

static int copy_path(const char *chosen, char *buf, size_t len)
{
	if (!chosen)
		return -ENODATA;
	if (strlen(chosen) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, chosen, strlen(chosen) + 1);
	return 0;
}

int proc_cgroup_path(pid_t pid, char *buf, size_t len)
{
	return proc_cgroup_path_at(&host_paths_default, pid, buf, len);
}

int proc_cgroup_path_at(const struct host_paths *hp, pid_t pid, char *buf, size_t len)
{
	struct cgroup_paths paths = { 0 };

	if (len > 0)
		buf[0] = '\0';
	int rc = read_cgroup_paths(hp, pid, &paths);
	if (rc == 0) {
		const char *chosen = host_is_pure_cgroup_v2(hp)
			? (paths.unified ? paths.unified : paths.cpu ? paths.cpu : paths.cpuacct)
			: (paths.cpu ? paths.cpu : paths.cpuacct ? paths.cpuacct : paths.unified);
		rc = copy_path(chosen, buf, len);
	}
	cgroup_paths_free(&paths);
	return rc;
}

/* Pure v2: memory.current in the unified tree. Hybrid or v1: the memory
 * controller's v1 hierarchy, usage_in_bytes; failing that, the hybrid unified
 * tree if the memory controller was moved there. */
int proc_memory_cgroup_file(pid_t pid, bool libvirt_domain, char *file, size_t len)
{
	return proc_memory_cgroup_file_at(&host_paths_default, pid, libvirt_domain, file, len);
}

int proc_memory_cgroup_file_at(const struct host_paths *hp, pid_t pid, bool libvirt_domain, char *file, size_t len)
{
	struct cgroup_paths paths = { 0 };
	char path[CGROUP_PATH_MAX];
	const char *fmt = NULL;

	int rc = read_cgroup_paths(hp, pid, &paths);
	if (rc == 0) {
		if (host_is_pure_cgroup_v2(hp)) {
			rc = copy_path(paths.unified, path, sizeof(path));
			fmt = "%s%s/memory.current";
		} else if (paths.memory) {
			rc = copy_path(paths.memory, path, sizeof(path));
			fmt = "%s/memory%s/memory.usage_in_bytes";
		} else {
			rc = copy_path(paths.unified, path, sizeof(path));
			fmt = "%s/unified%s/memory.current";
		}
	}
	cgroup_paths_free(&paths);
	if (rc < 0)
		return rc;
	if (libvirt_domain)
		domain_cgroup_from_thread_cgroup(path);
	/* "/" is the root cgroup: no usage file there, and not the VM's own. */
	if (strcmp(path, "/") == 0)
		return -ENODATA;
	if ((size_t)snprintf(file, len, fmt, hp->cgroup, path) >= len)
		return -ENAMETOOLONG;
	return access(file, R_OK) == 0 ? 0 : -ENOENT;
}

/* libvirt splits a domain's cgroup into emulator/, vcpuN/ and iothreadN/
 * children, and QEMU's main thread sits in emulator/. The VM's own cgroup, the
 * one whose figures libvirt reports, is the parent. */
void domain_cgroup_from_thread_cgroup(char *path)
{
	char *last = strrchr(path, '/');
	const char *name, *digits = NULL;

	if (!last || last == path)
		return;
	name = last + 1;
	if (strncmp(name, "vcpu", 4) == 0)
		digits = name + 4;
	else if (strncmp(name, "iothread", 8) == 0)
		digits = name + 8;
	else if (strcmp(name, "emulator") != 0)
		return;
	if (digits && (!*digits || strspn(digits, "0123456789") != strlen(digits)))
		return;
	*last = '\0';
}

/* ------------------------------------------------------------------------ */
/* --pid targets                                                            */
/* ------------------------------------------------------------------------ */

#define FNV64_OFFSET_BASIS 0xcbf29ce484222325ull
#define FNV64_PRIME        0x100000001b3ull

static uint64_t fnv1a64(uint64_t hash, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		hash ^= p[i];
		hash *= FNV64_PRIME;
	}
	return hash;
}

/* A --pid target has no UUID of its own, yet its history must stay attached
 * to it when the probe restarts (new pid, same NAME). So the UUID is derived
 * from what the user named it and where: two 64-bit FNV-1a hashes of
 * "host\0name" (the second salted, so the halves are independent) make the
 * 128 bits, marked as an RFC 9562 version 8 ("custom") UUID with the RFC
 * variant so it is well-formed and never mistaken for a random (v4) one. */
void pid_target_uuid(const char *host, const char *name, char out[VM_UUID_LEN + 1])
{
	static const char salt[] = "vigil pid target";
	if (!host)
		host = "";
	if (!name)
		name = "";

	uint64_t halves[2] = { FNV64_OFFSET_BASIS,
			       fnv1a64(FNV64_OFFSET_BASIS, salt, sizeof(salt)) };
	for (int i = 0; i < 2; i++) {
		halves[i] = fnv1a64(halves[i], host, strlen(host) + 1); /* with its NUL */
		halves[i] = fnv1a64(halves[i], name, strlen(name));
	}

	unsigned char bytes[16];
	for (int i = 0; i < 8; i++) {
		bytes[i] = (unsigned char)(halves[0] >> (56 - 8 * i));
		bytes[8 + i] = (unsigned char)(halves[1] >> (56 - 8 * i));
	}
	bytes[6] = (unsigned char)((bytes[6] & 0x0f) | 0x80);  /* version 8 */
	bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80);  /* variant 10 */

	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", bytes[i]);
	}
}

int pid_target_init(struct vm_target *t, const char *host, const char *name, pid_t pid)
{
	memset(t, 0, sizeof(*t));
	if (!name || name[0] == '\0' || pid <= 0)
		return -EINVAL;
	if (strlen(name) >= sizeof(t->name))
		return -ENAMETOOLONG;
	if (!process_exists(pid))
		return -ESRCH;

	memcpy(t->name, name, strlen(name) + 1);
	pid_target_uuid(host, name, t->uuid);
	snprintf(t->state, sizeof(t->state), "running");
	t->source = VM_SOURCE_PID;
	t->pid = pid;
	if (proc_cgroup_path(pid, t->cgroup, sizeof(t->cgroup)) < 0)
		t->cgroup[0] = '\0';    /* unknown; the target is still usable */
	return 0;
}

int pid_file_read(const char *path, pid_t *pid)
{
	char content[32];
	ssize_t n = read_small_file(path, content, sizeof(content));

	*pid = 0;
	if (n < 0)
		return (int)n;
	if (!parse_pid(content, pid))
		return -EINVAL;
	return process_exists(*pid) ? 0 : -ESRCH;
}

/* Listed without a process until its pid file names a running one. */
static void pid_target_lose(struct vm_target *t)
{
	t->pid = 0;
	t->cgroup[0] = '\0';
	snprintf(t->state, sizeof(t->state), "no-process");
}

int pid_target_follow(struct vm_target *t, const char *host, const char *pid_file)
{
	char name[VM_NAME_MAX];
	pid_t now;
	int rc = pid_file_read(pid_file, &now);

	if (rc < 0)
		now = 0;
	if (now == t->pid)
		return 0;
	/* pid_target_init() clears the target, name included. */
	memcpy(name, t->name, sizeof(name));
	if (now > 0 && pid_target_init(t, host, name, now) == 0) {
		log_info("--pid %s=%s: now process %d", t->name, pid_file, now);
		return 1;
	}
	if (t->pid > 0)
		log_info("--pid %s=%s: no running process (%s)", name, pid_file,
			 rc == -EINVAL ? "no pid in the file" : strerror(rc < 0 ? -rc : ESRCH));
	/* A failed pid_target_init() cleared it: put the identity back. */
	memcpy(t->name, name, sizeof(t->name));
	pid_target_uuid(host, name, t->uuid);
	t->source = VM_SOURCE_PID;
	pid_target_lose(t);
	return 1;
}

int pid_target_init_file(struct vm_target *t, const char *host, const char *name, const char *pid_file)
{
	memset(t, 0, sizeof(*t));
	if (!name || name[0] == '\0' || !pid_file || pid_file[0] != '/')
		return -EINVAL;
	if (strlen(name) >= sizeof(t->name))
		return -ENAMETOOLONG;
	memcpy(t->name, name, strlen(name) + 1);
	pid_target_uuid(host, name, t->uuid);
	t->source = VM_SOURCE_PID;
	pid_target_lose(t);
	pid_target_follow(t, host, pid_file);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* libvirt                                                                  */
/* ------------------------------------------------------------------------ */

/* libvirt prints every error to stderr unless told otherwise. Errors are
 * reported through our own messages instead (from virGetLastErrorMessage(),
 * which is per thread). The handler is process-wide; this module is the only
 * libvirt user of the program. */
static void discard_libvirt_error(void *opaque, virErrorPtr error)
{
	(void)opaque;
	(void)error;
}

static void silence_libvirt(void)
{
	virSetErrorFunc(NULL, discard_libvirt_error);
}

static pthread_once_t libvirt_silenced = PTHREAD_ONCE_INIT;

static const char *domain_state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:     return "running";
	case VIR_DOMAIN_BLOCKED:     return "blocked";
	case VIR_DOMAIN_PAUSED:      return "paused";
	case VIR_DOMAIN_SHUTDOWN:    return "shutdown";
	case VIR_DOMAIN_SHUTOFF:     return "shutoff";
	case VIR_DOMAIN_CRASHED:     return "crashed";
	case VIR_DOMAIN_PMSUSPENDED: return "pmsuspended";
	default:                     return "unknown";
	}
}

/* Reads a libvirt pid file and returns its pid if that process is the
 * domain's QEMU (its command line carries "-uuid <uuid>"); a stale file may
 * name a pid that now belongs to something else. 0 otherwise. */
static pid_t pid_from_pid_file(const char *path, const char *uuid)
{
	char content[32];
	pid_t pid;
	if (read_small_file(path, content, sizeof(content)) < 0 || !parse_pid(content, &pid))
		return 0;
	return process_has_uuid_arg(pid, uuid) ? pid : 0;
}

/* The pid files of the system driver and, if we run in a user session, of
 * the session driver. */
static pid_t pid_from_libvirt_pid_files(const char *name, const char *uuid)
{
	char path[PATH_MAX];
	if (strchr(name, '/'))
		return 0;       /* cannot be a file name; libvirt forbids it anyway */

	snprintf(path, sizeof(path), "/run/libvirt/qemu/%s.pid", name);
	pid_t pid = pid_from_pid_file(path, uuid);
	if (pid > 0)
		return pid;

	const char *runtime_dir = getenv("XDG_RUNTIME_DIR");
	if (runtime_dir && runtime_dir[0] &&
	    snprintf(path, sizeof(path), "%s/libvirt/qemu/run/%s.pid", runtime_dir, name) <
		    (int)sizeof(path))
		return pid_from_pid_file(path, uuid);
	return 0;
}

/* Fallback when no pid file helps (another run directory, a remote-looking
 * URI to a local daemon, a driver without pid files): the process whose
 * command line has "-uuid <uuid>". Costs one cmdline read per process, so it
 * only runs for domains the pid files did not resolve. */
static pid_t pid_by_uuid_argument(const char *uuid)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return 0;
	pid_t found = 0;
	struct dirent *entry;
	while (!found && (entry = readdir(proc)) != NULL) {
		pid_t pid;
		if (parse_pid(entry->d_name, &pid) && process_has_uuid_arg(pid, uuid))
			found = pid;
	}
	closedir(proc);
	return found;
}

static pid_t qemu_pid_of_domain(const char *name, const char *uuid)
{
	pid_t pid = pid_from_libvirt_pid_files(name, uuid);
	return pid > 0 ? pid : pid_by_uuid_argument(uuid);
}

/* Fills t from one libvirt domain. Returns -1 for a domain to leave out:
 * one that vanished between the listing and the questions about it. */
/* libvirt's memory statistics tags, by our balloon_stat index, and whether
 * libvirt gives them in KiB (the rest are counts). */
static const struct {
	int tag;
	bool kib;
} balloon_tags[BALLOON_STAT_COUNT] = {
	[BALLOON_ACTUAL] = { VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON, true },
	[BALLOON_UNUSED] = { VIR_DOMAIN_MEMORY_STAT_UNUSED, true },
	[BALLOON_AVAILABLE] = { VIR_DOMAIN_MEMORY_STAT_AVAILABLE, true },
	[BALLOON_SWAP_IN] = { VIR_DOMAIN_MEMORY_STAT_SWAP_IN, true },
	[BALLOON_SWAP_OUT] = { VIR_DOMAIN_MEMORY_STAT_SWAP_OUT, true },
	[BALLOON_MAJOR_FAULTS] = { VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT, false },
};

/* The value of attribute name of the first element matching path below
 * node, copied into buf; "" if absent. */
static void xml_attr(xmlXPathContextPtr ctx, xmlNodePtr node, const char *path, const char *name, char *buf,
		     size_t len)
{
	xmlXPathObjectPtr found;
	xmlChar *v = NULL;

	buf[0] = '\0';
	ctx->node = node;
	found = xmlXPathEvalExpression((const xmlChar *)path, ctx);
	if (found && found->nodesetval && found->nodesetval->nodeNr > 0)
		v = xmlGetProp(found->nodesetval->nodeTab[0], (const xmlChar *)name);
	if (v)
		snprintf(buf, len, "%s", (const char *)v);
	xmlFree(v);
	xmlXPathFreeObject(found);
}

/* Calls each(ctx, node, out, i) for the elements matching path, until it
 * has filled max entries (each returns 1 when it filled entry i). Returns
 * the count, or -1 if the XML does not parse. */
static int xml_each(const char *xml, const char *path, void *out, unsigned max,
		    int (*each)(xmlXPathContextPtr, xmlNodePtr, void *, unsigned))
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
	xmlXPathObjectPtr found = ctx ? xmlXPathEvalExpression((const xmlChar *)path, ctx) : NULL;
	int n = 0;

	if (!found) {
		xmlXPathFreeContext(ctx);
		xmlFreeDoc(doc);
		return -1;
	}
	for (int i = 0; found->nodesetval && i < found->nodesetval->nodeNr && (unsigned)n < max; i++)
		n += each(ctx, found->nodesetval->nodeTab[i], out, (unsigned)n);
	xmlXPathFreeObject(found);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return n;
}

static int one_nic(xmlXPathContextPtr ctx, xmlNodePtr iface, void *out, unsigned i)
{
	struct vm_nic *nic = (struct vm_nic *)out + i;

	xml_attr(ctx, iface, "target", "dev", nic->dev, sizeof(nic->dev));
	xml_attr(ctx, iface, "mac", "address", nic->mac, sizeof(nic->mac));
	return nic->dev[0] != '\0';
}

int domain_xml_nics(const char *xml, struct vm_nic *out, unsigned max)
{
	return xml_each(xml, "/domain/devices/interface", out, max, one_nic);
}

static int one_disk(xmlXPathContextPtr ctx, xmlNodePtr node, void *out, unsigned i)
{
	struct vm_disk *disk = (struct vm_disk *)out + i;

	xml_attr(ctx, node, "target", "dev", disk->dev, sizeof(disk->dev));
	xml_attr(ctx, node, "source", "file", disk->path, sizeof(disk->path));
	if (!disk->path[0])
		xml_attr(ctx, node, "source", "dev", disk->path, sizeof(disk->path));
	return disk->dev[0] && disk->path[0];
}

int domain_xml_disks(const char *xml, struct vm_disk *out, unsigned max)
{
	return xml_each(xml, "/domain/devices/disk[@device='disk']", out, max, one_disk);
}

/* The domain's interfaces and disks, from its live XML. */
static void describe_devices(virDomainPtr dom, struct vm_target *t)
{
	char *xml = virDomainGetXMLDesc(dom, 0);
	int nics = xml ? domain_xml_nics(xml, t->nics, VM_MAX_NICS) : -1;
	int disks = xml ? domain_xml_disks(xml, t->disks, VM_MAX_DISKS) : -1;

	t->n_nics = nics > 0 ? (unsigned)nics : 0;
	t->n_disks = disks > 0 ? (unsigned)disks : 0;
	free(xml);
}

/* Configured memory and the balloon statistics. Runs on the discovery
 * thread, never on the sampling path. A domain without a balloon driver
 * simply reports none. */
static void describe_memory(virDomainPtr dom, struct vm_memory_info *m)
{
	virDomainMemoryStatStruct stats[VIR_DOMAIN_MEMORY_STAT_NR];
	unsigned long max_kib = virDomainGetMaxMemory(dom);
	int n;

	m->configured_bytes = (uint64_t)max_kib * 1024;
	n = virDomainMemoryStats(dom, stats, VIR_DOMAIN_MEMORY_STAT_NR, 0);
	for (int i = 0; i < n; i++)
		for (int b = 0; b < BALLOON_STAT_COUNT; b++)
			if (stats[i].tag == balloon_tags[b].tag) {
				m->balloon[b] = balloon_tags[b].kib ? stats[i].val * 1024 : stats[i].val;
				m->balloon_have |= 1u << b;
			}
}

static int describe_domain(virDomainPtr dom, struct vm_target *t)
{
	memset(t, 0, sizeof(*t));
	const char *name = virDomainGetName(dom);
	if (!name)
		return -1;

	char uuid[VIR_UUID_STRING_BUFLEN];
	int state, reason;
	if (virDomainGetUUIDString(dom, uuid) < 0 ||
	    virDomainGetState(dom, &state, &reason, 0) < 0) {
		log_debug("libvirt domain %s: skipped, it went away while being listed (%s)",
			  name, virGetLastErrorMessage());
		return -1;
	}

	if ((size_t)snprintf(t->name, sizeof(t->name), "%s", name) >= sizeof(t->name))
		log_debug("libvirt domain name %s is cut to %zu characters", name,
			  sizeof(t->name) - 1);
	for (size_t i = 0; i < VM_UUID_LEN && uuid[i]; i++)
		t->uuid[i] = (char)tolower((unsigned char)uuid[i]);
	t->source = VM_SOURCE_LIBVIRT;

	t->pid = qemu_pid_of_domain(name, t->uuid);
	if (t->pid > 0) {
		snprintf(t->state, sizeof(t->state), "%s", domain_state_name(state));
		if (proc_cgroup_path(t->pid, t->cgroup, sizeof(t->cgroup)) < 0)
			t->cgroup[0] = '\0';
		domain_cgroup_from_thread_cgroup(t->cgroup);
		describe_memory(dom, &t->memory);
		describe_devices(dom, t);
	} else {
		t->pid = 0;
		snprintf(t->state, sizeof(t->state), "no-process");
	}
	return 0;
}

int libvirt_list_domains(const char *uri, struct vm_list *out, char *err, size_t errlen)
{
	out->vms = NULL;
	out->count = 0;
	if (errlen > 0)
		err[0] = '\0';
	pthread_once(&libvirt_silenced, silence_libvirt);

	virConnectPtr conn = virConnectOpenReadOnly(uri);
	if (!conn) {
		snprintf(err, errlen, "opening a read-only connection failed: %s",
			 virGetLastErrorMessage());
		return -1;
	}

	virDomainPtr *domains = NULL;
	int n = virConnectListAllDomains(conn, &domains, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		snprintf(err, errlen, "listing the running domains failed: %s",
			 virGetLastErrorMessage());
		virConnectClose(conn);
		return -1;
	}

	struct vm_target *vms = n > 0 ? calloc((size_t)n, sizeof(*vms)) : NULL;
	size_t count = 0;
	for (int i = 0; i < n; i++) {
		if (vms && describe_domain(domains[i], &vms[count]) == 0)
			count++;
		virDomainFree(domains[i]);
	}
	free(domains);
	virConnectClose(conn);

	if (n > 0 && !vms) {
		snprintf(err, errlen, "out of memory for %d domains", n);
		return -1;
	}
	out->vms = vms;
	out->count = count;
	return 0;
}

void vm_list_free(struct vm_list *l)
{
	if (!l)
		return;
	free(l->vms);
	l->vms = NULL;
	l->count = 0;
}

/* ------------------------------------------------------------------------ */
/* The discovery thread                                                     */
/* ------------------------------------------------------------------------ */

/* How long discovery_stop() waits for a libvirt call in progress. */
#define STOP_WAIT_MS 2000

/* Shared by the caller and the thread. A libvirt call can hang for a long
 * time (a wedged daemon, a dead remote host), and discovery_stop() must not
 * hang with it: after STOP_WAIT_MS it detaches the thread and returns. The
 * thread then still uses this structure when its call comes back, so the
 * structure is reference counted and freed by whichever side lets go last.
 * lock is only ever held for flag changes and pointer swaps/copies, never
 * across a libvirt call. */
struct discovery {
	pthread_mutex_t lock;
	pthread_cond_t wake;            /* signalled by discovery_stop() */
	pthread_cond_t finished;        /* signalled when the thread is done */
	pthread_cond_t attempted;       /* signalled after the first listing attempt */
	unsigned refs;
	bool stop;
	bool thread_done;
	bool thread_started;
	bool have_listing;              /* a listing has succeeded at least once */
	bool have_attempted;            /* a listing has been tried, with any outcome */
	bool relist;                    /* a domain event asks for a listing now */
	bool events_done;
	bool events_started;
	struct vm_list latest;
	char *uri;                      /* NULL: libvirt disabled */
	unsigned refresh_ms;
	pthread_t thread;
	pthread_t events_thread;
};

static void discovery_free(struct discovery *d)
{
	vm_list_free(&d->latest);
	free(d->uri);
	pthread_cond_destroy(&d->wake);
	pthread_cond_destroy(&d->finished);
	pthread_cond_destroy(&d->attempted);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Drops one reference; the caller must not touch d afterwards. */
static void discovery_unref(struct discovery *d)
{
	pthread_mutex_lock(&d->lock);
	bool last = --d->refs == 0;
	pthread_mutex_unlock(&d->lock);
	if (last)
		discovery_free(d);
}

/* Sleeps for one refresh period, until a domain event asks for a listing, or
 * until discovery_stop(). Returns false when the thread should end. */
static bool wait_for_next_round(struct discovery *d)
{
	struct timespec deadline = clock_deadline_after_ms(d->refresh_ms);
	pthread_mutex_lock(&d->lock);
	while (!d->stop && !d->relist &&
	       pthread_cond_timedwait(&d->wake, &d->lock, &deadline) != ETIMEDOUT)
		;
	d->relist = false;
	bool keep_going = !d->stop;
	pthread_mutex_unlock(&d->lock);
	return keep_going;
}

/* Makes fresh the latest list, unless a stop was requested while libvirt was
 * being asked. Takes ownership of fresh. Returns false when stopping; sets
 * *first when this is the first listing ever published. */
static bool publish(struct discovery *d, struct vm_list *fresh, bool *first)
{
	pthread_mutex_lock(&d->lock);
	bool stopping = d->stop;
	*first = !d->have_listing;
	if (!stopping) {
		struct vm_list old = d->latest;
		d->latest = *fresh;
		*fresh = old;   /* freed below, outside the lock */
		d->have_listing = true;
	}
	pthread_mutex_unlock(&d->lock);
	vm_list_free(fresh);
	return !stopping;
}

static void note_attempt(struct discovery *d)
{
	pthread_mutex_lock(&d->lock);
	d->have_attempted = true;
	pthread_cond_broadcast(&d->attempted);
	pthread_mutex_unlock(&d->lock);
}

static bool stop_requested(struct discovery *d)
{
	pthread_mutex_lock(&d->lock);
	bool stop = d->stop;
	pthread_mutex_unlock(&d->lock);
	return stop;
}

/* The last act of each thread: says it is done and lets go of d. */
static void thread_exit(struct discovery *d, bool *done)
{
	pthread_mutex_lock(&d->lock);
	*done = true;
	pthread_cond_broadcast(&d->finished);
	bool last = --d->refs == 0;
	pthread_mutex_unlock(&d->lock);
	if (last)
		discovery_free(d);
}

static void *discovery_thread(void *arg)
{
	struct discovery *d = arg;
	bool reported_unreachable = false;

	for (;;) {
		struct vm_list fresh;
		char err[512];
		if (libvirt_list_domains(d->uri, &fresh, err, sizeof(err)) == 0) {
			size_t count = fresh.count;
			bool first;
			if (!publish(d, &fresh, &first))
				break;
			if (reported_unreachable)
				log_info("libvirt at %s reachable again", d->uri);
			else if (first)
				log_info("libvirt at %s reachable: %zu running domain(s)",
					 d->uri, count);
			reported_unreachable = false;
		} else {
			/* The last good list stays published: the VMs do not stop
			 * because libvirtd restarts. */
			if (stop_requested(d))
				break;
			if (!reported_unreachable)
				log_warn("libvirt at %s is not reachable (%s); monitoring --pid "
					 "targets only; will keep retrying", d->uri, err);
			reported_unreachable = true;
		}
		note_attempt(d);
		if (!wait_for_next_round(d))
			break;
	}

	thread_exit(d, &d->thread_done);
	return NULL;
}

/* --- domain events --------------------------------------------------------
 * A second thread keeps its own read-only connection and turns every
 * lifecycle event (started, stopped, crashed, rebooted, defined, undefined,
 * migrated, ...) into an immediate listing, so a new VM is sampled from the
 * next interval instead of the next refresh. Listing stays in the discovery
 * thread; the event thread only sets a flag, so a slow listing never delays
 * the events and a lost connection only falls back to the refresh period. */

/* How often virEventRunDefaultImpl() returns, so a stop is seen. */
#define EVENT_TICK_MS 250
#define EVENT_RECONNECT_MS 2000

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct discovery *d = opaque;

	(void)conn;
	log_debug("libvirt event: domain %s, event %d/%d", virDomainGetName(dom), event, detail);
	pthread_mutex_lock(&d->lock);
	d->relist = true;
	pthread_cond_broadcast(&d->wake);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void on_tick(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

/* Sleeps up to ms, or until discovery_stop(). */
static void events_pause(struct discovery *d, unsigned ms)
{
	struct timespec deadline = clock_deadline_after_ms(ms);
	pthread_mutex_lock(&d->lock);
	while (!d->stop && pthread_cond_timedwait(&d->wake, &d->lock, &deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&d->lock);
}

static virConnectPtr events_connect(struct discovery *d, int *callback)
{
	virConnectPtr conn = virConnectOpenReadOnly(d->uri);

	if (!conn)
		return NULL;
	*callback = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						     VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), d, NULL);
	if (*callback < 0) {
		log_warn("libvirt at %s: cannot subscribe to domain events (%s); new VMs are "
			 "found every %u ms", d->uri, virGetLastErrorMessage(), d->refresh_ms);
		virConnectClose(conn);
		return NULL;
	}
	/* Notices a dead daemon within seconds, so the thread reconnects. */
	virConnectSetKeepAlive(conn, 5, 3);
	/* A reconnect may have missed events: list once. */
	pthread_mutex_lock(&d->lock);
	d->relist = true;
	pthread_cond_broadcast(&d->wake);
	pthread_mutex_unlock(&d->lock);
	return conn;
}

static void events_disconnect(virConnectPtr conn, int callback)
{
	if (!conn)
		return;
	if (callback >= 0)
		virConnectDomainEventDeregisterAny(conn, callback);
	virConnectClose(conn);
}

static void *events_thread(void *arg)
{
	struct discovery *d = arg;
	virConnectPtr conn = NULL;
	int callback = -1;
	int timer = virEventAddTimeout(EVENT_TICK_MS, on_tick, NULL, NULL);

	while (timer >= 0 && !stop_requested(d)) {
		if (!conn && !(conn = events_connect(d, &callback))) {
			events_pause(d, EVENT_RECONNECT_MS);
			continue;
		}
		if (virEventRunDefaultImpl() < 0 || virConnectIsAlive(conn) != 1) {
			events_disconnect(conn, callback);
			conn = NULL;
			callback = -1;
		}
	}
	events_disconnect(conn, callback);
	if (timer >= 0)
		virEventRemoveTimeout(timer);

	thread_exit(d, &d->events_done);
	return NULL;
}

static int init_sync(struct discovery *d)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);
	if (rc)
		return -rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_mutex_init(&d->lock, NULL);
	if (!rc && (rc = pthread_cond_init(&d->wake, &attr)) != 0)
		pthread_mutex_destroy(&d->lock);
	if (!rc && (rc = pthread_cond_init(&d->finished, &attr)) != 0) {
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
	}
	if (!rc && (rc = pthread_cond_init(&d->attempted, &attr)) != 0) {
		pthread_cond_destroy(&d->finished);
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
	}
	pthread_condattr_destroy(&attr);
	return -rc;
}

/* Starts the thread with every signal blocked, so that signals meant for the
 * program (SIGINT, SIGTERM) go to its other threads, and a SIGPIPE from a
 * dropped libvirt socket turns into an EPIPE error instead. */
static int start_thread(pthread_t *thread, void *(*fn)(void *), struct discovery *d)
{
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	int rc = pthread_create(thread, NULL, fn, d);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return -rc;
}

static void register_event_impl(void)
{
	if (virEventRegisterDefaultImpl() < 0)
		log_warn("libvirt: cannot set up its event loop: %s", virGetLastErrorMessage());
}

/* The event thread is optional: without it, the refresh period applies. */
static void start_events_thread(struct discovery *d)
{
	static pthread_once_t event_impl_once = PTHREAD_ONCE_INIT;

	/* Process-wide, and before any connection that should deliver events. */
	pthread_once(&event_impl_once, register_event_impl);
	pthread_mutex_lock(&d->lock);
	d->refs++;
	pthread_mutex_unlock(&d->lock);
	int rc = start_thread(&d->events_thread, events_thread, d);
	if (rc < 0) {
		log_warn("cannot start the libvirt event thread: %s; new VMs are found every %u ms",
			 strerror(-rc), d->refresh_ms);
		pthread_mutex_lock(&d->lock);
		d->refs--;
		pthread_mutex_unlock(&d->lock);
		return;
	}
	d->events_started = true;
}

int discovery_start(struct discovery **out, const char *uri, unsigned refresh_ms)
{
	*out = NULL;
	if (uri && refresh_ms == 0)
		return -EINVAL;

	struct discovery *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	int rc = init_sync(d);
	if (rc < 0) {
		free(d);
		return rc;
	}
	d->refs = 1;
	d->refresh_ms = refresh_ms;

	if (uri) {
		d->uri = strdup(uri);
		if (!d->uri) {
			discovery_free(d);
			return -ENOMEM;
		}
		d->refs = 2;    /* the caller's and the thread's */
		rc = start_thread(&d->thread, discovery_thread, d);
		if (rc < 0) {
			log_error("cannot start the libvirt discovery thread: %s", strerror(-rc));
			discovery_free(d);
			return rc;
		}
		d->thread_started = true;
		start_events_thread(d);
	}
	*out = d;
	return 0;
}

int discovery_latest(struct discovery *d, struct vm_list *out)
{
	out->vms = NULL;
	out->count = 0;
	if (!d->uri)
		return 0;       /* libvirt disabled: the list is known to be empty */

	pthread_mutex_lock(&d->lock);
	int rc = d->have_listing ? 0 : -1;
	if (rc == 0 && d->latest.count > 0) {
		out->vms = malloc(d->latest.count * sizeof(*out->vms));
		if (out->vms) {
			memcpy(out->vms, d->latest.vms, d->latest.count * sizeof(*out->vms));
			out->count = d->latest.count;
		} else {
			rc = -1;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

void discovery_wait_first(struct discovery *d, unsigned timeout_ms)
{
	if (!d->uri)
		return;
	struct timespec deadline = clock_deadline_after_ms(timeout_ms);
	pthread_mutex_lock(&d->lock);
	while (!d->have_attempted && !d->thread_done &&
	       pthread_cond_timedwait(&d->attempted, &d->lock, &deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&d->lock);
}

int discovery_libvirt_reachable(struct discovery *d)
{
	if (!d->uri)
		return 0;
	pthread_mutex_lock(&d->lock);
	int reachable = d->have_listing;
	pthread_mutex_unlock(&d->lock);
	return reachable;
}

void discovery_stop(struct discovery *d)
{
	if (!d)
		return;
	if (d->thread_started) {
		struct timespec deadline = clock_deadline_after_ms(STOP_WAIT_MS);
		pthread_mutex_lock(&d->lock);
		d->stop = true;
		pthread_cond_broadcast(&d->wake);
		while ((!d->thread_done || (d->events_started && !d->events_done)) &&
		       pthread_cond_timedwait(&d->finished, &d->lock, &deadline) != ETIMEDOUT)
			;
		bool done = d->thread_done, events_done = d->events_done;
		pthread_mutex_unlock(&d->lock);

		/* A thread stuck in libvirt is left behind; it frees the shared
		 * state itself when its call returns (see struct discovery). */
		if (done)
			pthread_join(d->thread, NULL);
		else
			pthread_detach(d->thread);
		if (d->events_started && events_done)
			pthread_join(d->events_thread, NULL);
		else if (d->events_started)
			pthread_detach(d->events_thread);
		if (!done || (d->events_started && !events_done))
			log_warn("libvirt at %s did not answer within %d ms; leaving its "
				 "call behind", d->uri, STOP_WAIT_MS);
	}
	discovery_unref(d);
}
