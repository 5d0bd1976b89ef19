/* Finding the VMs of this host: libvirt domains and --pid targets, and the
 * QEMU threads that belong to each.
 *
 * libvirt is never on the sampling path: a discovery thread owns the libvirt
 * connection and publishes snapshots of the VM list; the sampler only ever
 * takes the latest snapshot, which never blocks on libvirt.
 *
 * Implemented in:
 *   procfs.c           threads and vCPU indexes from /proc (and procfs.h,
 *                      the /proc helpers the other files share)
 *   cgroups.c          a process's cgroup and its memory usage file
 *   pid_target.c       --pid targets
 *   libvirt_domains.c  one listing of libvirt's running domains
 *   domain_xml.c       interfaces and disks from a domain's XML
 *   discovery.c        the discovery thread and the domain event thread */
#ifndef VIGIL_DISCOVERY_H
#define VIGIL_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VM_NAME_MAX   128
#define VM_UUID_LEN   36
#define VM_STATE_MAX  16
#define CGROUP_PATH_MAX 512

/* VM_SOURCE_HOST: the hypervisor's own entry (userspace/host_metrics.c). */
enum vm_source { VM_SOURCE_LIBVIRT, VM_SOURCE_PID, VM_SOURCE_HOST };

/* Balloon statistics as the guest's balloon driver reports them through
 * libvirt (no guest agent). Memory figures are bytes; swap and major faults
 * are the guest's cumulative counts since it booted. */
enum balloon_stat {
	BALLOON_ACTUAL,       /* current balloon size: memory the guest has */
	BALLOON_UNUSED,       /* free memory in the guest */
	BALLOON_AVAILABLE,    /* memory the guest sees as usable */
	BALLOON_SWAP_IN,      /* bytes swapped in */
	BALLOON_SWAP_OUT,     /* bytes swapped out */
	BALLOON_MAJOR_FAULTS, /* major page faults in the guest */
	BALLOON_STAT_COUNT
};

/* A network interface of a domain, from its XML: the host-side device
 * (<target dev>, a tap for most interface types) and the guest's MAC. */
#define VM_MAX_NICS 8
struct vm_nic {
	char dev[16];   /* IFNAMSIZ */
	char mac[18];   /* "52:54:00:12:34:56" */
};

/* A virtual disk of a domain, from its XML: the guest's device name
 * (<target dev>) and the host file or block device behind it (<source>). */
#define VM_MAX_DISKS 8
struct vm_disk {
	char dev[16];
	char path[256];
};

struct vm_memory_info {
	uint64_t configured_bytes;        /* the domain's maximum memory; 0: unknown */
	unsigned balloon_have;            /* bit (1 << stat) set when reported */
	uint64_t balloon[BALLOON_STAT_COUNT];
};

struct vm_target {
	char name[VM_NAME_MAX];
	char uuid[VM_UUID_LEN + 1];     /* canonical lower-case UUID */
	char state[VM_STATE_MAX];       /* "running", "paused", "no-process", ... */
	enum vm_source source;
	pid_t pid;                      /* QEMU (or target) process; 0 if none found */
	char cgroup[CGROUP_PATH_MAX];   /* process cgroup path, "" if unknown */
	struct vm_memory_info memory;   /* libvirt domains only; zero otherwise */
	struct vm_nic nics[VM_MAX_NICS];/* libvirt domains only */
	unsigned n_nics;
	struct vm_disk disks[VM_MAX_DISKS]; /* domain XML, or --disk for --pid */
	unsigned n_disks;
};

struct vm_list {
	struct vm_target *vms;
	size_t count;
};

struct thread_info {
	pid_t tid;
	int vcpu;       /* from a "CPU N/KVM" or "CPU N/TCG" name; -1 otherwise */
	char comm[16];
};

/* Where this host mounts procfs and its cgroup file systems. The functions
 * without "_at" use host_paths_default; tests point the "_at" ones at
 * fixture trees. */
struct host_paths {
	const char *proc;   /* "/proc" */
	const char *cgroup; /* "/sys/fs/cgroup": the v2 tree on a pure v2 host, else
			       the v1 controllers with the v2 tree in unified/ */
};
extern const struct host_paths host_paths_default;

/* "CPU 3/KVM" -> 3, "CPU 0/TCG" -> 0 (also HVF, WHPX, NVMM), anything else
 * -> -1. Single-threaded TCG ("ALL CPUs/TCG", QEMU's round-robin mode, e.g.
 * -accel tcg,thread=single or icount) runs all vCPUs on one thread, which
 * counts as vCPU 0. */
int vcpu_index_from_comm(const char *comm);

/* Lists the threads of process pid from /proc. *out is malloc'd. Returns the
 * count, or a negative errno (-ENOENT when the process is gone). */
int proc_list_threads(pid_t pid, struct thread_info **out);
int proc_list_threads_at(const struct host_paths *hp, pid_t pid, struct thread_info **out);

/* Writes the process's cgroup path from /proc/PID/cgroup into buf: on a pure
 * cgroup v2 host the unified ("0::") path; on a hybrid or v1 host the path of
 * the v1 hierarchy with the cpu (else cpuacct) controller, falling back to
 * the unified path. Returns 0 or a negative errno (-ENOENT: process gone,
 * -ENODATA: no usable line, -ENAMETOOLONG: buf too small). */
int proc_cgroup_path(pid_t pid, char *buf, size_t len);
int proc_cgroup_path_at(const struct host_paths *hp, pid_t pid, char *buf, size_t len);

/* Writes into file the cgroup file holding the memory usage of process pid's
 * cgroup (memory.current on v2, memory.usage_in_bytes on v1), for a libvirt
 * domain the domain's cgroup rather than its emulator thread's. Returns 0,
 * -ENODATA when the process sits in the root cgroup or has no memory
 * controller, -ENOENT when the file is not there, or another negative errno. */
int proc_memory_cgroup_file(pid_t pid, bool libvirt_domain, char *file, size_t len);
int proc_memory_cgroup_file_at(const struct host_paths *hp, pid_t pid, bool libvirt_domain, char *file, size_t len);

/* The interfaces of a domain XML that have a host-side device (<target
 * dev='...'>), in document order, at most max. Returns the count, or -1 if
 * the XML does not parse. */
int domain_xml_nics(const char *xml, struct vm_nic *out, unsigned max);

/* The disks (device='disk') of a domain XML backed by a file or a block
 * device, in document order, at most max. Returns the count, or -1 if the
 * XML does not parse. */
int domain_xml_disks(const char *xml, struct vm_disk *out, unsigned max);

/* Turns the cgroup of a libvirt domain's QEMU thread (".../emulator",
 * ".../vcpuN", ".../iothreadN") into the domain's own cgroup, in place.
 * Other paths are left alone. */
void domain_cgroup_from_thread_cgroup(char *path);

/* A stable UUID for a --pid target, derived from the host and target names,
 * so the same NAME keeps its history across probe restarts. */
void pid_target_uuid(const char *host, const char *name, char out[VM_UUID_LEN + 1]);

/* Builds a --pid target. Returns 0, -ESRCH if the process does not exist,
 * -ENAMETOOLONG if name does not fit VM_NAME_MAX, or -EINVAL for an empty
 * name or a pid <= 0. */
int pid_target_init(struct vm_target *t, const char *host, const char *name, pid_t pid);

/* The process a pid file names (one decimal pid, optionally followed by a
 * newline). Returns 0 with *pid set, a negative errno if the file cannot be
 * read, -EINVAL if it holds no pid, or -ESRCH if that process is not
 * running (*pid is still set then). */
int pid_file_read(const char *path, pid_t *pid);

/* Builds a --pid NAME=FILE target, following the process the pid file
 * names; while there is none (no file yet, a stale pid) the target is
 * listed as "no-process". Returns 0, or -EINVAL / -ENAMETOOLONG for an
 * unusable name or a path that is not absolute. */
int pid_target_init_file(struct vm_target *t, const char *host, const char *name, const char *pid_file);

/* Re-reads the pid file of such a target and follows it: another running
 * process there becomes the target's process (the sampler counts it afresh
 * and flags counters_reset: the same VM restarted), none leaves it
 * "no-process". Returns 1 when the target's process changed, else 0. The
 * file is trusted to name the VM's process: a stale file whose pid was
 * reused is not detected. */
int pid_target_follow(struct vm_target *t, const char *host, const char *pid_file);

/* One synchronous libvirt listing of the running domains, over a read-only
 * connection to uri. Each domain's QEMU pid is found through libvirt's pid
 * file or by its "-uuid" argument; a domain without a process (as in the
 * test:///default driver) is listed with pid 0 and state "no-process".
 * Returns 0 or -1 with a message in err. */
int libvirt_list_domains(const char *uri, struct vm_list *out, char *err, size_t errlen);

void vm_list_free(struct vm_list *l);

/* The background discovery thread. */
struct discovery;

/* Starts a thread that lists libvirt domains at once and then every
 * refresh_ms. If libvirt cannot be reached it logs that once (and again
 * once when it comes back) and keeps trying. uri NULL disables libvirt.
 * Returns 0 or a negative errno (-EINVAL for refresh_ms 0 with a uri). */
int discovery_start(struct discovery **out, const char *uri, unsigned refresh_ms);

/* Copies the latest published libvirt VM list into *out (caller frees with
 * vm_list_free). Never waits on libvirt. Returns 0, or -1 if no listing has
 * completed yet (*out is then empty). With uri NULL: 0 and an empty list.
 * While libvirt is unreachable the last successful listing stays current. */
int discovery_latest(struct discovery *d, struct vm_list *out);

/* Waits until the first libvirt listing has been tried (whatever its
 * outcome), at most timeout_ms, so that a one-shot run includes the domains
 * and an unreachable libvirt costs no more than one failed attempt. */
void discovery_wait_first(struct discovery *d, unsigned timeout_ms);

/* True once a listing has succeeded at least once (for status messages). */
int discovery_libvirt_reachable(struct discovery *d);

/* Stops and frees. Returns within about 2 s even if a libvirt call hangs:
 * the thread is then left to finish that call and free itself. */
void discovery_stop(struct discovery *d);

#endif
