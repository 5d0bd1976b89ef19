/* /proc helpers shared by the discovery files (procfs.c); internal to
 * discovery, which exports its API in discovery.h. */
#ifndef VIGIL_PROCFS_H
#define VIGIL_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A /proc directory entry or a pid file's content as a pid: a positive
 * number, optionally followed by a newline (pid files end with one). */
bool parse_pid(const char *s, pid_t *pid);

/* Reads up to len - 1 bytes of a small file (a comm, a pid file) and
 * NUL-terminates them. Returns the byte count or a negative errno. */
ssize_t read_small_file(const char *path, char *buf, size_t len);

/* Whether process pid's command line holds "-uuid UUID" (libvirt's QEMU). */
bool process_has_uuid_arg(pid_t pid, const char *uuid);

/* A process exists if it can be signalled (EPERM still means it is there)
 * and this mount of /proc shows it. */
bool process_exists(pid_t pid);

#endif
