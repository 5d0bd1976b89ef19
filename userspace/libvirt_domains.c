/* One listing of the running libvirt domains: each domain's QEMU process,
 * state, cgroup, memory and devices. Runs on the discovery thread only. See
 * discovery.h for the contract. */
#include "discovery.h"
#include "log.h"
#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* libvirt prints every error to stderr unless told otherwise. Errors are
 * reported through our own messages instead (from virGetLastErrorMessage(),
 * which is per thread). The handler is process-wide; discovery (this file
 * and the event thread of discovery.c) is the only libvirt user of the
 * program. */
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

/* Fills t from one libvirt domain. Returns -1 for a domain to leave out:
 * one that vanished between the listing and the questions about it. */
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
