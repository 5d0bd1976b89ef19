/* Finding a VM's cgroup, its memory usage file and its vCPU threads on each
 * cgroup layout a hypervisor may have, with fixture trees standing in for
 * /proc and /sys/fs/cgroup (the "_at" functions of userspace/cgroups.c and
 * procfs.c):
 *
 *   pure v2   one "0::" line; the v2 tree at the top, memory.current
 *             (most current hosts: systemd-machined or libvirt naming)
 *   hybrid    v1 controllers, v2 at unified/ without controllers
 *             (this project's development machines)
 *   pure v1   v1 controllers only, memory.usage_in_bytes */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discovery.h"

#define PID 4242

/* systemd-machined's scope name escapes '-' as \x2d, literally. */
#define SYSTEMD_SCOPE "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope"
#define LIBVIRT_GROUP "/machine/qemu-1-vm1.libvirt-qemu"

struct fixture {
	char root[64];
	char proc[96];
	char cgroup[96];
	struct host_paths hp;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	snprintf(f.root, sizeof(f.root), "/tmp/vigil-cgroups.XXXXXX");
	if (!mkdtemp(f.root))
		return -1;
	snprintf(f.proc, sizeof(f.proc), "%s/proc", f.root);
	snprintf(f.cgroup, sizeof(f.cgroup), "%s/sys/fs/cgroup", f.root);
	f.hp = (struct host_paths){ .proc = f.proc, .cgroup = f.cgroup };
	*state = &f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	return nftw(f->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates every directory of path below the fixture root. */
static void make_dirs(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
}

/* Writes content into base + rel, creating the directories on the way. */
static void put(const char *base, const char *rel, const char *content)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", base, rel);
	make_dirs(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void put_proc_cgroup(const struct fixture *f, const char *lines)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "/%d/cgroup", PID);
	put(f->proc, rel, lines);
}

/* The memory usage file the probe would read for a libvirt domain (or a
 * --pid target), relative to the cgroup root; "" when there is none. */
static int memory_file(const struct fixture *f, bool libvirt_domain, char *rel, size_t len)
{
	char file[PATH_MAX];
	size_t root = strlen(f->cgroup);
	int rc = proc_memory_cgroup_file_at(&f->hp, PID, libvirt_domain, file, sizeof(file));

	rel[0] = '\0';
	if (rc == 0) {
		assert_int_equal(strncmp(file, f->cgroup, root), 0);
		snprintf(rel, len, "%s", file + root);
	}
	return rc;
}

static void assert_cgroup_path(const struct fixture *f, const char *want)
{
	char path[CGROUP_PATH_MAX];

	assert_int_equal(proc_cgroup_path_at(&f->hp, PID, path, sizeof(path)), 0);
	assert_string_equal(path, want);
}

/* ---- pure v2 --------------------------------------------------------- */

static void test_v2_systemd_machined(void **state)
{
	struct fixture *f = *state;
	char rel[PATH_MAX];

	put(f->cgroup, "/cgroup.controllers", "cpuset cpu io memory pids\n");
	/* QEMU's main thread sits in libvirt's emulator/ child of the nested
	 * "libvirt" group inside the machine scope. */
	put_proc_cgroup(f, "0::" SYSTEMD_SCOPE "/libvirt/emulator\n");
	put(f->cgroup, SYSTEMD_SCOPE "/libvirt/memory.current", "268435456\n");
	put(f->cgroup, SYSTEMD_SCOPE "/libvirt/emulator/memory.current", "1048576\n");

	assert_cgroup_path(f, SYSTEMD_SCOPE "/libvirt/emulator");
	/* The domain's own group, which holds the vCPU groups too. */
	assert_int_equal(memory_file(f, true, rel, sizeof(rel)), 0);
	assert_string_equal(rel, SYSTEMD_SCOPE "/libvirt/memory.current");
	/* A --pid target's own group is taken as it is. */
	assert_int_equal(memory_file(f, false, rel, sizeof(rel)), 0);
	assert_string_equal(rel, SYSTEMD_SCOPE "/libvirt/emulator/memory.current");
}

/* Older libvirt on v2 put emulator/ and vcpuN/ straight into the scope. */
static void test_v2_systemd_without_nested_group(void **state)
{
	struct fixture *f = *state;
	char rel[PATH_MAX];

	put(f->cgroup, "/cgroup.controllers", "cpu memory\n");
	put_proc_cgroup(f, "0::" SYSTEMD_SCOPE "/emulator\n");
	put(f->cgroup, SYSTEMD_SCOPE "/memory.current", "4096\n");

	assert_int_equal(memory_file(f, true, rel, sizeof(rel)), 0);
	assert_string_equal(rel, SYSTEMD_SCOPE "/memory.current");
}

static void test_v2_libvirt_naming(void **state)
{
	struct fixture *f = *state;
	char rel[PATH_MAX];

	put(f->cgroup, "/cgroup.controllers", "cpu memory\n");
	put_proc_cgroup(f, "0::" LIBVIRT_GROUP "/emulator\n");
	put(f->cgroup, LIBVIRT_GROUP "/memory.current", "4096\n");

	assert_cgroup_path(f, LIBVIRT_GROUP "/emulator");
	assert_int_equal(memory_file(f, true, rel, sizeof(rel)), 0);
	assert_string_equal(rel, LIBVIRT_GROUP "/memory.current");
}

/* A process in the root group has no group of its own to report. */
static void test_v2_root_group(void **state)
{
	struct fixture *f = *state;
	char rel[PATH_MAX];

	put(f->cgroup, "/cgroup.controllers", "cpu memory\n");
	put_proc_cgroup(f, "0::/\n");
	assert_cgroup_path(f, "/");
	assert_int_equal(memory_file(f, true, rel, sizeof(rel)), -ENODATA);
}

/* The memory controller not enabled for the group: no file, no figure. */
static void test_v2_no_memory_controller(void **state)
{
	struct fixture *f = *state;
	char rel[PATH_MAX];

	put(f->cgroup, "/cgroup.controllers", "cpu\n");
	put_proc_cgroup(f, "0::" LIBVIRT_GROUP "/emulator\n");
	put(f->cgroup, LIBVIRT_GROUP "/cgroup.procs", "");
	assert_int_equal(memory_file(f, true, rel, sizeof(rel)), -ENOENT);
}

/* ---- hybrid ---------------------------------------------------------- */

/* What libvirt does on this project's development machines: v1
 * controllers (cpu and cpuacct apart), v2 at unified/ for tracking only. */
static void test_hybrid(void **state)
{
	struct fixture *f = *state;
	char rel[PATH_MAX];

	put(f->cgroup, "/unified/cgroup.controllers", "");
	put_proc_cgroup(f, "9:name=systemd:/\n"
			   "8:pids:" LIBVIRT_GROUP "/emulator\n"
			   "4:memory:" LIBVIRT_GROUP "/emulator\n"
			   "3:cpuset:" LIBVIRT_GROUP "/emulator\n"
			   "2:cpuacct:" LIBVIRT_GROUP "/emulator\n"
			   "1:cpu:" LIBVIRT_GROUP "/emulator\n"
			   "0::/\n");
	put(f->cgroup, "/memory" LIBVIRT_GROUP "/memory.usage_in_bytes", "268435456\n");

	/* The cpu hierarchy, not the controller-less unified "/" line. */
	assert_cgroup_path(f, LIBVIRT_GROUP "/emulator");
	assert_int_equal(memory_file(f, true, rel, sizeof(rel)), 0);
	assert_string_equal(rel, "/memory" LIBVIRT_GROUP "/memory.usage_in_bytes");
}

/* systemd hybrid with machined naming and cpu,cpuacct mounted together. */
static void test_hybrid_systemd(void **state)
{
	struct fixture *f = *state;
	char rel[PATH_MAX];

	put(f->cgroup, "/unified/cgroup.controllers", "");
	put_proc_cgroup(f, "12:memory:" SYSTEMD_SCOPE "/libvirt/emulator\n"
			   "4:cpu,cpuacct:" SYSTEMD_SCOPE "/libvirt/emulator\n"
			   "1:name=systemd:" SYSTEMD_SCOPE "\n"
			   "0::" SYSTEMD_SCOPE "\n");
	put(f->cgroup, "/memory" SYSTEMD_SCOPE "/libvirt/memory.usage_in_bytes", "1\n");

	assert_cgroup_path(f, SYSTEMD_SCOPE "/libvirt/emulator");
	assert_int_equal(memory_file(f, true, rel, sizeof(rel)), 0);
	assert_string_equal(rel, "/memory" SYSTEMD_SCOPE "/libvirt/memory.usage_in_bytes");
}

/* A hybrid host whose memory controller was moved to the unified tree. */
static void test_hybrid_memory_on_unified(void **state)
{
	struct fixture *f = *state;
	char rel[PATH_MAX];

	put(f->cgroup, "/unified/cgroup.controllers", "memory\n");
	put_proc_cgroup(f, "1:cpu,cpuacct:" LIBVIRT_GROUP "/emulator\n"
			   "0::" LIBVIRT_GROUP "/emulator\n");
	put(f->cgroup, "/unified" LIBVIRT_GROUP "/memory.current", "1\n");

	assert_int_equal(memory_file(f, true, rel, sizeof(rel)), 0);
	assert_string_equal(rel, "/unified" LIBVIRT_GROUP "/memory.current");
}

/* ---- pure v1 --------------------------------------------------------- */

static void test_v1(void **state)
{
	struct fixture *f = *state;
	char rel[PATH_MAX];

	/* No unified line at all; only cpuacct, no cpu hierarchy. */
	put_proc_cgroup(f, "5:memory:" LIBVIRT_GROUP "/vcpu0\n"
			   "2:cpuacct:" LIBVIRT_GROUP "/vcpu0\n"
			   "1:name=systemd:/system.slice\n");
	put(f->cgroup, "/memory" LIBVIRT_GROUP "/memory.usage_in_bytes", "1\n");

	assert_cgroup_path(f, LIBVIRT_GROUP "/vcpu0");
	assert_int_equal(memory_file(f, true, rel, sizeof(rel)), 0);
	assert_string_equal(rel, "/memory" LIBVIRT_GROUP "/memory.usage_in_bytes");
}

/* Nothing usable, or no such process. */
static void test_no_usable_line(void **state)
{
	struct fixture *f = *state;
	char path[CGROUP_PATH_MAX], rel[PATH_MAX];

	put_proc_cgroup(f, "1:name=systemd:/x\n");
	assert_int_equal(proc_cgroup_path_at(&f->hp, PID, path, sizeof(path)), -ENODATA);
	assert_int_equal(memory_file(f, true, rel, sizeof(rel)), -ENODATA);
	assert_int_equal(proc_cgroup_path_at(&f->hp, PID + 1, path, sizeof(path)), -ENOENT);
}

/* ---- vCPU threads ------------------------------------------------------ */

static void put_thread(const struct fixture *f, int tid, const char *comm)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "/%d/task/%d/comm", PID, tid);
	put(f->proc, rel, comm);
}

static int vcpu_of(const struct thread_info *t, int n, int tid)
{
	for (int i = 0; i < n; i++)
		if (t[i].tid == tid)
			return t[i].vcpu;
	fail_msg("thread %d not listed", tid);
	return -2;
}

static void test_vcpu_threads_kvm_and_tcg(void **state)
{
	struct fixture *f = *state;
	struct thread_info *threads;
	int n;

	put_thread(f, PID, "qemu-system-x86\n");
	put_thread(f, PID + 1, "CPU 0/KVM\n");
	put_thread(f, PID + 2, "CPU 1/KVM\n");
	put_thread(f, PID + 3, "CPU 0/TCG\n");
	put_thread(f, PID + 4, "CPU 12/TCG\n");
	put_thread(f, PID + 5, "IO mon_iothread\n");
	put_thread(f, PID + 6, "CPU 2/KVMX\n");
	put_thread(f, PID + 7, "ALL CPUs/TCG\n");
	n = proc_list_threads_at(&f->hp, PID, &threads);
	assert_int_equal(n, 8);
	assert_int_equal(vcpu_of(threads, n, PID), -1);
	assert_int_equal(vcpu_of(threads, n, PID + 1), 0);
	assert_int_equal(vcpu_of(threads, n, PID + 2), 1);
	assert_int_equal(vcpu_of(threads, n, PID + 3), 0);
	assert_int_equal(vcpu_of(threads, n, PID + 4), 12);
	assert_int_equal(vcpu_of(threads, n, PID + 5), -1);
	assert_int_equal(vcpu_of(threads, n, PID + 6), -1);
	/* Round-robin TCG's one thread for every vCPU. */
	assert_int_equal(vcpu_of(threads, n, PID + 7), 0);
	free(threads);
	assert_int_equal(proc_list_threads_at(&f->hp, PID + 100, &threads), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_v2_systemd_machined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_systemd_without_nested_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_libvirt_naming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_root_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_no_memory_controller, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hybrid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hybrid_systemd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hybrid_memory_on_unified, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_usable_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcpu_threads_kvm_and_tcg, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
