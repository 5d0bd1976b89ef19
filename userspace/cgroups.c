/* Which cgroup a process is accounted in, on pure cgroup v2, hybrid and v1
 * hosts, and where its memory usage is read. See discovery.h for the
 * contract. */
#include "discovery.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
