/* tracefs, where classic tracepoints (SEC("tracepoint/...")) are attached
 * from: libbpf reads the event's id from events/GROUP/NAME/id there. Of
 * Vigil's programs only bpf/kvm_exit.bpf.c needs it; the others use tp_btf
 * and tc, which do not.
 *
 * A fresh host has not mounted tracefs (systemd, perf, a person usually
 * has), so the probe mounts it itself when it is missing, as perf and
 * bpftrace do. The mount stays after the probe exits, as theirs do:
 * another tool may be using it by then. */
#ifndef VIGIL_TRACEFS_H
#define VIGIL_TRACEFS_H

#include <stddef.h>

#define TRACEFS_DIR         "/sys/kernel/tracing"
#define TRACEFS_DEBUGFS_DIR "/sys/kernel/debug/tracing"

/* Makes sure tracefs is mounted where libbpf will look for it, and writes
 * that directory into dir. libbpf looks in TRACEFS_DEBUGFS_DIR when it
 * exists (debugfs is mounted; debugfs mounts tracefs there on first
 * access), else in TRACEFS_DIR, where this mounts tracefs if it is not
 * there, and logs that it did. Returns 0, or a negative errno with the
 * reason and what the operator can do in err:
 *   -EPERM   mounting needs CAP_SYS_ADMIN;
 *   -ENODEV  this kernel has no tracefs;
 *   other    the mount point is missing or not usable. */
int tracefs_ensure_mounted(char *dir, size_t dirlen, char *err, size_t errlen);

#endif
