/* --pid targets: a process the user names as a VM, given by pid or by pid
 * file, with a UUID that stays the same across probe restarts. See
 * discovery.h for the contract. */
#include "discovery.h"
#include "log.h"
#include "procfs.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
