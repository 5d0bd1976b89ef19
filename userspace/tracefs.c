/* Finding tracefs, and mounting it on a host that has not. */
#include "tracefs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "log.h"

/* The directory libbpf 1.x reads tracepoint ids from: the debugfs one
 * whenever it can be accessed, else the tracefs mount point. */
static const char *libbpf_tracing_dir(void)
{
	return faccessat(AT_FDCWD, TRACEFS_DEBUGFS_DIR, F_OK, AT_EACCESS) == 0 ? TRACEFS_DEBUGFS_DIR : TRACEFS_DIR;
}

/* 1 when tracefs is mounted at dir, 0 when something else (or nothing
 * but the directory) is, a negative errno when dir cannot be looked at. */
static int is_tracefs(const char *dir)
{
	struct statfs st;

	if (statfs(dir, &st))
		return -errno;
	return st.f_type == TRACEFS_MAGIC;
}

static int mount_failed(int rc, char *err, size_t errlen)
{
	static const char by_hand[] = "mount it beforehand: mount -t tracefs nodev " TRACEFS_DIR;

	switch (rc) {
	case -EPERM:
	case -EACCES:
		snprintf(err, errlen,
			 "tracefs is not mounted at %s and mounting it was refused: %s (mounting needs "
			 "CAP_SYS_ADMIN; give the probe that capability, or %s)",
			 TRACEFS_DIR, strerror(-rc), by_hand);
		return -EPERM;
	case -ENODEV:
		snprintf(err, errlen, "tracefs is not mounted at %s and this kernel has no tracefs to mount (%s): "
			 "it was built without CONFIG_TRACING", TRACEFS_DIR, strerror(-rc));
		return rc;
	default:
		snprintf(err, errlen, "tracefs is not mounted at %s and mounting it there failed: %s (%s)",
			 TRACEFS_DIR, strerror(-rc), by_hand);
		return rc;
	}
}

/* Why dir, which libbpf will use, cannot serve. */
static int unusable(const char *dir, int rc, char *err, size_t errlen)
{
	if (rc == -ENOENT)
		snprintf(err, errlen, "there is no %s: sysfs is not mounted, or this kernel has no tracefs", dir);
	else if (rc < 0)
		snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
	else
		snprintf(err, errlen, "%s is not tracefs (debugfs did not mount it there)", dir);
	return rc == -ENOENT || rc == 0 ? -ENODEV : rc;
}

int tracefs_ensure_mounted(char *dir, size_t dirlen, char *err, size_t errlen)
{
	const char *where = libbpf_tracing_dir();
	int rc = is_tracefs(where);

	snprintf(dir, dirlen, "%s", where);
	if (rc == 1)
		return 0;
	if (rc < 0 || strcmp(where, TRACEFS_DIR) != 0)
		return unusable(where, rc, err, errlen);
	if (mount("nodev", TRACEFS_DIR, "tracefs", 0, NULL))
		return mount_failed(-errno, err, errlen);
	log_info("tracefs was not mounted: mounted it at %s, as perf does, to attach tracepoints", TRACEFS_DIR);
	return 0;
}
