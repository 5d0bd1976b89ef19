/* A VM's memory as the host sees it: QEMU's resident set and the usage of
 * the VM's memory cgroup. Read once per interval by the sampler. */
#ifndef VIGIL_MEMORY_H
#define VIGIL_MEMORY_H

#include <stdint.h>
#include <sys/types.h>

/* Resident bytes of process pid (/proc/PID/statm). 0 or a negative errno. */
int proc_rss_bytes(pid_t pid, uint64_t *out);

/* The first unsigned number in a file such as memory.current. 0 or a
 * negative errno. */
int read_u64_file(const char *path, uint64_t *out);

#endif
