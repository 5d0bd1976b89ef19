/* Unit tests for discovery (userspace/discovery.h): /proc parsing, --pid
 * targets, and libvirt discovery against libvirt's built-in test:///default
 * driver (one running domain "test" that has no real process). No libvirtd
 * needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "discovery.h"
#include "log.h"

#define TEST_URI "test:///default"
#define BAD_URI  "qemu+unix:///system?socket=/nonexistent/sock"

/* ---- helpers ------------------------------------------------------------ */

/* The pid of a child that has exited and been reaped: a pid with no process. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return pid;
}

static bool is_canonical_uuid(const char *s)
{
	if (strlen(s) != VM_UUID_LEN)
		return false;
	for (int i = 0; i < VM_UUID_LEN; i++) {
		bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash_here ? s[i] != '-'
			      : !(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls discovery_latest() until it has published a list, for up to 2 s. */
static int wait_for_listing(struct discovery *d, struct vm_list *out)
{
	for (int i = 0; i < 100; i++) {
		if (discovery_latest(d, out) == 0)
			return 0;
		sleep_ms(20);
	}
	return -1;
}

/* ---- vcpu_index_from_comm ----------------------------------------------- */

static void test_vcpu_index_valid(void **state)
{
	(void)state;
	assert_int_equal(vcpu_index_from_comm("CPU 3/KVM"), 3);
	assert_int_equal(vcpu_index_from_comm("CPU 0/TCG"), 0);
	assert_int_equal(vcpu_index_from_comm("CPU 12/KVM"), 12);
	assert_int_equal(vcpu_index_from_comm("CPU 255/KVM"), 255);
	assert_int_equal(vcpu_index_from_comm("CPU 7/HVF"), 7);
	assert_int_equal(vcpu_index_from_comm("CPU 1/WHPX"), 1);
	/* Round-robin TCG: one thread runs every vCPU. */
	assert_int_equal(vcpu_index_from_comm("ALL CPUs/TCG"), 0);
}

static void test_vcpu_index_invalid(void **state)
{
	(void)state;
	static const char *const rejected[] = {
		"CPU x/KVM", "CPU 3/FOO", "worker", "CPU -1/KVM", "CPU +1/KVM",
		"CPU  1/KVM", "CPU /KVM", "CPU 3/", "CPU 3", "CPU 3/KVMX", "CPU 3/kvm",
		"cpu 3/KVM", "CPU 3 /KVM", "CPU 3/KVM ", "", "CPU 99999999999999999999/KVM",
		"CPU 4294967296/KVM", "qemu-system-x86", "IO mon_iothread",
		"ALL CPUs/KVM", "ALL CPUs/TCG ", "all CPUs/TCG",
	};
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
		if (vcpu_index_from_comm(rejected[i]) != -1)
			fail_msg("\"%s\" was accepted as a vCPU thread name", rejected[i]);
	}
	assert_int_equal(vcpu_index_from_comm(NULL), -1);
}

/* ---- proc_list_threads -------------------------------------------------- */

/* The named threads stay alive until the test has looked at them. */
static pthread_barrier_t release_threads;

static void *parked_thread(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&release_threads);
	return NULL;
}

static const struct thread_info *find_thread(const struct thread_info *threads, int n, pid_t tid)
{
	for (int i = 0; i < n; i++)
		if (threads[i].tid == tid)
			return &threads[i];
	return NULL;
}

static void test_list_threads_self(void **state)
{
	(void)state;
	static const char *const names[] = { "CPU 0/TCG", "CPU 1/KVM" };
	pthread_t threads[2];

	assert_int_equal(pthread_barrier_init(&release_threads, NULL, 3), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_create(&threads[i], NULL, parked_thread, NULL), 0);
		assert_int_equal(pthread_setname_np(threads[i], names[i]), 0);
	}

	struct thread_info *list = NULL;
	int n = proc_list_threads(getpid(), &list);
	assert_true(n >= 3);
	assert_non_null(list);

	int found[2] = { 0, 0 };
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			if (strcmp(list[i].comm, names[k]) == 0) {
				found[k]++;
				assert_int_equal(list[i].vcpu, k);
			}
		}
	}
	assert_int_equal(found[0], 1);
	assert_int_equal(found[1], 1);

	const struct thread_info *main_thread = find_thread(list, n, getpid());
	assert_non_null(main_thread);
	assert_int_equal(main_thread->vcpu, -1);
	free(list);

	pthread_barrier_wait(&release_threads);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	pthread_barrier_destroy(&release_threads);
}

static void test_list_threads_gone(void **state)
{
	(void)state;
	static struct thread_info sentinel;
	struct thread_info *list = &sentinel;  /* must come back NULL */
	assert_int_equal(proc_list_threads(dead_pid(), &list), -ENOENT);
	assert_null(list);
}

/* ---- proc_cgroup_path --------------------------------------------------- */

static void test_cgroup_path_self(void **state)
{
	(void)state;
	char path[CGROUP_PATH_MAX];
	assert_int_equal(proc_cgroup_path(getpid(), path, sizeof(path)), 0);
	assert_int_equal(path[0], '/');
	assert_null(strchr(path, '\n'));
}

static void test_cgroup_path_small_buffer(void **state)
{
	(void)state;
	char path[1];
	assert_int_equal(proc_cgroup_path(getpid(), path, sizeof(path)), -ENAMETOOLONG);
}

static void test_cgroup_path_gone(void **state)
{
	(void)state;
	char path[CGROUP_PATH_MAX];
	assert_int_equal(proc_cgroup_path(dead_pid(), path, sizeof(path)), -ENOENT);
}

/* ---- --pid targets ------------------------------------------------------ */

static void test_pid_uuid_deterministic(void **state)
{
	(void)state;
	char a[VM_UUID_LEN + 1], b[VM_UUID_LEN + 1];
	pid_target_uuid("host1", "web", a);
	pid_target_uuid("host1", "web", b);
	assert_string_equal(a, b);
	assert_true(is_canonical_uuid(a));
}

static void test_pid_uuid_differs(void **state)
{
	(void)state;
	char base[VM_UUID_LEN + 1], other[VM_UUID_LEN + 1];
	pid_target_uuid("host1", "web", base);

	pid_target_uuid("host1", "db", other);
	assert_string_not_equal(base, other);
	pid_target_uuid("host2", "web", other);
	assert_string_not_equal(base, other);
	/* The NUL between host and name keeps these two apart. */
	pid_target_uuid("host1w", "eb", other);
	assert_string_not_equal(base, other);
}

static void test_pid_uuid_format(void **state)
{
	(void)state;
	static const char *const names[] = { "a", "web", "", "a much longer target name" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char uuid[VM_UUID_LEN + 1];
		pid_target_uuid("host", names[i], uuid);
		assert_true(is_canonical_uuid(uuid));
		assert_int_equal(uuid[14], '8');                   /* version 8 */
		assert_non_null(strchr("89ab", uuid[19]));        /* variant 10 */
	}
}

static void test_pid_target_init_self(void **state)
{
	(void)state;
	struct vm_target t;
	char uuid[VM_UUID_LEN + 1];
	assert_int_equal(pid_target_init(&t, "host1", "myself", getpid()), 0);
	pid_target_uuid("host1", "myself", uuid);
	assert_string_equal(t.name, "myself");
	assert_string_equal(t.uuid, uuid);
	assert_string_equal(t.state, "running");
	assert_int_equal(t.source, VM_SOURCE_PID);
	assert_int_equal(t.pid, getpid());
	assert_int_equal(t.cgroup[0], '/');
}

static void test_pid_target_init_dead(void **state)
{
	(void)state;
	struct vm_target t;
	assert_int_equal(pid_target_init(&t, "host1", "ghost", dead_pid()), -ESRCH);
}

static void test_pid_target_init_bad_name(void **state)
{
	(void)state;
	struct vm_target t;
	char long_name[VM_NAME_MAX + 1];
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(pid_target_init(&t, "host1", long_name, getpid()), -ENAMETOOLONG);
	assert_int_equal(pid_target_init(&t, "host1", "", getpid()), -EINVAL);
}

/* ---- --pid NAME=/PIDFILE ------------------------------------------------ */

static void write_pid_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static pid_t parked_child(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sleep(60); /* bounded; killed by the test long before */
		_exit(0);
	}
	return pid;
}

static void end_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_pid_file_read(void **state)
{
	(void)state;
	char dir[] = "/tmp/vigil-pidfile.XXXXXX", path[64], text[32];
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.pid", dir);
	assert_int_equal(pid_file_read(path, &pid), -ENOENT);
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	write_pid_file(path, text);
	assert_int_equal(pid_file_read(path, &pid), 0);
	assert_int_equal(pid, getpid());
	write_pid_file(path, "12ab\n");
	assert_int_equal(pid_file_read(path, &pid), -EINVAL);
	snprintf(text, sizeof(text), "%d", (int)dead_pid());
	write_pid_file(path, text);
	assert_int_equal(pid_file_read(path, &pid), -ESRCH);
	unlink(path);
	rmdir(dir);
}

/* The pid file is followed: the same NAME (so the same UUID) gets the new
 * process, and no process in between is "no-process". */
static void test_pid_target_follows_its_pid_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/vigil-pidfile.XXXXXX", path[64], text[32], uuid[VM_UUID_LEN + 1];
	struct vm_target t;
	pid_t first = parked_child(), second = parked_child();

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.pid", dir);
	pid_target_uuid("host1", "qemu-a", uuid);

	/* No file yet: listed without a process. */
	assert_int_equal(pid_target_init_file(&t, "host1", "qemu-a", path), 0);
	assert_int_equal(t.pid, 0);
	assert_string_equal(t.state, "no-process");
	assert_string_equal(t.uuid, uuid);
	assert_int_equal(pid_target_follow(&t, "host1", path), 0);

	snprintf(text, sizeof(text), "%d\n", (int)first);
	write_pid_file(path, text);
	assert_int_equal(pid_target_follow(&t, "host1", path), 1);
	assert_int_equal(t.pid, first);
	assert_string_equal(t.state, "running");
	assert_int_equal(pid_target_follow(&t, "host1", path), 0);

	/* The process ends: the file goes stale. */
	end_child(first);
	assert_int_equal(pid_target_follow(&t, "host1", path), 1);
	assert_int_equal(t.pid, 0);
	assert_string_equal(t.state, "no-process");
	assert_string_equal(t.name, "qemu-a");
	assert_string_equal(t.uuid, uuid);

	/* Restarted: same NAME and UUID, new pid. */
	snprintf(text, sizeof(text), "%d\n", (int)second);
	write_pid_file(path, text);
	assert_int_equal(pid_target_follow(&t, "host1", path), 1);
	assert_int_equal(t.pid, second);
	assert_string_equal(t.name, "qemu-a");
	assert_string_equal(t.uuid, uuid);
	assert_int_equal(t.source, VM_SOURCE_PID);

	assert_int_equal(pid_target_init_file(&t, "host1", "qemu-a", "relative.pid"), -EINVAL);
	end_child(second);
	unlink(path);
	rmdir(dir);
}

/* ---- libvirt_list_domains ----------------------------------------------- */

static void test_libvirt_test_driver(void **state)
{
	(void)state;
	struct vm_list l;
	char err[256];
	assert_int_equal(libvirt_list_domains(TEST_URI, &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, 1);
	const struct vm_target *vm = &l.vms[0];
	assert_string_equal(vm->name, "test");
	assert_string_equal(vm->state, "no-process");
	assert_int_equal(vm->pid, 0);
	assert_int_equal(vm->source, VM_SOURCE_LIBVIRT);
	assert_true(is_canonical_uuid(vm->uuid));
	assert_string_equal(vm->cgroup, "");
	vm_list_free(&l);
	assert_null(l.vms);
	assert_int_equal(l.count, 0);
}

static void test_libvirt_bad_uri(void **state)
{
	(void)state;
	struct vm_list l;
	char err[256] = "";
	assert_int_equal(libvirt_list_domains(BAD_URI, &l, err, sizeof(err)), -1);
	assert_true(strlen(err) > 0);
	assert_null(l.vms);
	assert_int_equal(l.count, 0);
}

/* A stand-in for the QEMU of domain uuid: a shell whose command line carries
 * "-uuid <uuid>" the way libvirt passes it, blocked reading *stdin_fd until
 * that is closed. */
static pid_t start_fake_qemu(const char *uuid, int *stdin_fd)
{
	/* Close-on-exec, so no other child keeps this pipe's write end open. */
	int pipe_fds[2];
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipe_fds[0], STDIN_FILENO);
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		execl("/bin/sh", "sh", "-c", "read line", "-uuid", uuid, (char *)NULL);
		_exit(127);
	}
	close(pipe_fds[0]);
	*stdin_fd = pipe_fds[1];

	/* Wait until the exec has happened and the command line shows it. */
	char path[64], args[256];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(args, 1, sizeof(args), f) : 0;
		if (f)
			fclose(f);
		if (n > 0 && memmem(args, n, "-uuid", 6))
			return pid;
		sleep_ms(10);
	}
	fail_msg("fake QEMU %d did not start", (int)pid);
	return -1;
}

static void stop_fake_qemu(pid_t pid, int stdin_fd)
{
	close(stdin_fd);        /* "read" sees EOF and the shell exits */
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_domain_uuid(char uuid[VM_UUID_LEN + 1])
{
	struct vm_list l;
	char err[256];
	assert_int_equal(libvirt_list_domains(TEST_URI, &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, 1);
	memcpy(uuid, l.vms[0].uuid, VM_UUID_LEN + 1);
	vm_list_free(&l);
}

/* No pid file: the process is found by its "-uuid" argument. */
static void test_libvirt_finds_process_by_uuid(void **state)
{
	(void)state;
	char uuid[VM_UUID_LEN + 1];
	test_domain_uuid(uuid);
	int fd;
	pid_t qemu = start_fake_qemu(uuid, &fd);

	struct vm_list l;
	char err[256];
	int rc = libvirt_list_domains(TEST_URI, &l, err, sizeof(err));
	stop_fake_qemu(qemu, fd);

	assert_int_equal(rc, 0);
	assert_int_equal(l.count, 1);
	assert_int_equal(l.vms[0].pid, qemu);
	assert_string_equal(l.vms[0].state, "running");
	assert_int_equal(l.vms[0].cgroup[0], '/');
	vm_list_free(&l);
}

/* With a session-style pid file naming one of two candidate processes, the
 * pid file wins (a /proc scan could have picked either). */
static void test_libvirt_prefers_pid_file(void **state)
{
	(void)state;
	char uuid[VM_UUID_LEN + 1];
	test_domain_uuid(uuid);
	int fd_a, fd_b;
	pid_t other = start_fake_qemu(uuid, &fd_a);
	pid_t qemu = start_fake_qemu(uuid, &fd_b);

	char runtime_dir[] = "/tmp/vigil-discovery-XXXXXX";
	assert_non_null(mkdtemp(runtime_dir));
	char dir[128], pid_file[160];
	snprintf(dir, sizeof(dir), "%s/libvirt/qemu/run", runtime_dir);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(pid_file, sizeof(pid_file), "%s/test.pid", dir);
	FILE *f = fopen(pid_file, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", (int)qemu);
	fclose(f);

	const char *saved = getenv("XDG_RUNTIME_DIR");
	char *saved_copy = saved ? strdup(saved) : NULL;
	setenv("XDG_RUNTIME_DIR", runtime_dir, 1);

	struct vm_list l;
	char err[256];
	int rc = libvirt_list_domains(TEST_URI, &l, err, sizeof(err));

	if (saved_copy)
		setenv("XDG_RUNTIME_DIR", saved_copy, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	free(saved_copy);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", runtime_dir);
	assert_int_equal(system(cmd), 0);
	stop_fake_qemu(other, fd_a);
	stop_fake_qemu(qemu, fd_b);

	assert_int_equal(rc, 0);
	assert_int_equal(l.count, 1);
	assert_int_equal(l.vms[0].pid, qemu);
	vm_list_free(&l);
}

/* ---- discovery thread --------------------------------------------------- */

static void test_discovery_test_driver(void **state)
{
	(void)state;
	struct discovery *d;
	assert_int_equal(discovery_start(&d, TEST_URI, 100), 0);

	struct vm_list l;
	assert_int_equal(wait_for_listing(d, &l), 0);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.vms[0].name, "test");
	assert_true(is_canonical_uuid(l.vms[0].uuid));
	assert_true(discovery_libvirt_reachable(d));
	vm_list_free(&l);

	/* Let a few refreshes run, then check the list is still right. */
	sleep_ms(350);
	assert_int_equal(discovery_latest(d, &l), 0);
	assert_int_equal(l.count, 1);
	vm_list_free(&l);
	discovery_stop(d);
}

static void test_discovery_stop_is_prompt(void **state)
{
	(void)state;
	struct discovery *d;
	assert_int_equal(discovery_start(&d, TEST_URI, 60000), 0);
	struct vm_list l;
	assert_int_equal(wait_for_listing(d, &l), 0);
	vm_list_free(&l);

	/* The thread now sleeps for a minute; stop must wake it. */
	double before = monotonic_seconds();
	discovery_stop(d);
	assert_true(monotonic_seconds() - before < 1.0);
}

static void test_discovery_without_libvirt(void **state)
{
	(void)state;
	struct discovery *d;
	assert_int_equal(discovery_start(&d, NULL, 100), 0);
	struct vm_list l;
	assert_int_equal(discovery_latest(d, &l), 0);
	assert_int_equal(l.count, 0);
	assert_null(l.vms);
	assert_false(discovery_libvirt_reachable(d));
	discovery_stop(d);
}

/* Counts occurrences of needle in the file behind fd. */
static int count_in_file(int fd, const char *needle)
{
	char buf[16384];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	int count = 0;
	for (const char *p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		count++;
	return count;
}

static void test_discovery_bad_uri(void **state)
{
	(void)state;
	/* Capture stderr to check the warning is logged once, not per retry. */
	FILE *capture = tmpfile();
	assert_non_null(capture);
	int saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);

	struct discovery *d;
	int rc = discovery_start(&d, BAD_URI, 50);
	if (rc == 0) {
		sleep_ms(400);  /* several failed rounds */
		struct vm_list l;
		rc = discovery_latest(d, &l);
		bool empty = l.count == 0 && l.vms == NULL;
		bool reachable = discovery_libvirt_reachable(d);
		discovery_stop(d);

		dup2(saved_stderr, STDERR_FILENO);
		assert_int_equal(rc, -1);
		assert_true(empty);
		assert_false(reachable);
	} else {
		dup2(saved_stderr, STDERR_FILENO);
		fail_msg("discovery_start failed: %d", rc);
	}
	close(saved_stderr);

	assert_int_equal(count_in_file(fileno(capture), "is not reachable"), 1);
	assert_int_equal(count_in_file(fileno(capture), "monitoring --pid targets only"), 1);
	fclose(capture);
}

static int thread_count(void)
{
	struct thread_info *threads;
	int n = proc_list_threads(getpid(), &threads);
	free(threads);
	return n;
}

/* A "libvirtd" that takes connections into its backlog but never answers:
 * the libvirt call hangs. discovery_stop() must give up after about 2 s, and
 * the abandoned thread must clean up by itself once the call fails (here,
 * when the listening socket goes away); ASan checks it does so safely. */
static void test_discovery_stop_with_hung_libvirt(void **state)
{
	(void)state;
	char dir[] = "/tmp/vigil-discovery-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/sock", dir);
	int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(listener >= 0);
	assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(listener, 4), 0);

	char uri[256];
	snprintf(uri, sizeof(uri), "qemu+unix:///system?socket=%s", addr.sun_path);
	int threads_before = thread_count();
	struct discovery *d;
	assert_int_equal(discovery_start(&d, uri, 100), 0);
	sleep_ms(300);          /* the thread is now waiting for an answer */

	double before = monotonic_seconds();
	discovery_stop(d);
	double took = monotonic_seconds() - before;
	assert_true(took > 1.5 && took < 3.5);

	close(listener);
	unlink(addr.sun_path);
	rmdir(dir);
	int threads_now = thread_count();
	for (int i = 0; i < 100 && threads_now > threads_before; i++) {
		sleep_ms(20);
		threads_now = thread_count();
	}
	assert_int_equal(threads_now, threads_before);
}

static void check_domain_cgroup(const char *in, const char *want)
{
	char path[128];

	snprintf(path, sizeof(path), "%s", in);
	domain_cgroup_from_thread_cgroup(path);
	assert_string_equal(path, want);
}

static void test_domain_cgroup_from_thread_cgroup(void **state)
{
	(void)state;
	check_domain_cgroup("/machine/qemu-1-a.libvirt-qemu/emulator", "/machine/qemu-1-a.libvirt-qemu");
	check_domain_cgroup("/machine.slice/machine-qemu\\x2d1\\x2da.scope/libvirt/vcpu12",
			    "/machine.slice/machine-qemu\\x2d1\\x2da.scope/libvirt");
	check_domain_cgroup("/machine/qemu-1-a.libvirt-qemu/iothread1", "/machine/qemu-1-a.libvirt-qemu");
	/* Not one of libvirt's thread groups: unchanged. */
	check_domain_cgroup("/machine/qemu-1-a.libvirt-qemu", "/machine/qemu-1-a.libvirt-qemu");
	check_domain_cgroup("/machine/vcpu", "/machine/vcpu");
	check_domain_cgroup("/machine/vcpu1x", "/machine/vcpu1x");
	check_domain_cgroup("/emulator", "/emulator");
	check_domain_cgroup("", "");
}

static void test_domain_xml_nics(void **state)
{
	static const char xml[] =
		"<domain type='qemu'><name>a</name><devices>"
		"<disk type='file'><target dev='vda'/></disk>"
		"<interface type='ethernet'><mac address='52:54:00:aa:bb:01'/><target dev='vnet3'/></interface>"
		"<interface type='network'><mac address='52:54:00:aa:bb:02'/></interface>"
		"<interface type='bridge'><mac address='52:54:00:aa:bb:03'/><target dev='vnet4'/></interface>"
		"</devices></domain>";
	struct vm_nic nics[VM_MAX_NICS];

	(void)state;
	/* The interface without a host device (not running) is skipped. */
	assert_int_equal(domain_xml_nics(xml, nics, VM_MAX_NICS), 2);
	assert_string_equal(nics[0].dev, "vnet3");
	assert_string_equal(nics[0].mac, "52:54:00:aa:bb:01");
	assert_string_equal(nics[1].dev, "vnet4");
	assert_string_equal(nics[1].mac, "52:54:00:aa:bb:03");
	assert_int_equal(domain_xml_nics(xml, nics, 1), 1);
	assert_int_equal(domain_xml_nics("<domain><devices/></domain>", nics, VM_MAX_NICS), 0);
	assert_int_equal(domain_xml_nics("not xml <", nics, VM_MAX_NICS), -1);
}

int main(void)
{
	log_init("test_discovery", LOG_LVL_INFO);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_index_valid),
		cmocka_unit_test(test_vcpu_index_invalid),
		cmocka_unit_test(test_list_threads_self),
		cmocka_unit_test(test_list_threads_gone),
		cmocka_unit_test(test_cgroup_path_self),
		cmocka_unit_test(test_cgroup_path_small_buffer),
		cmocka_unit_test(test_cgroup_path_gone),
		cmocka_unit_test(test_pid_uuid_deterministic),
		cmocka_unit_test(test_pid_uuid_differs),
		cmocka_unit_test(test_pid_uuid_format),
		cmocka_unit_test(test_pid_target_init_self),
		cmocka_unit_test(test_pid_target_init_dead),
		cmocka_unit_test(test_pid_target_init_bad_name),
		cmocka_unit_test(test_libvirt_test_driver),
		cmocka_unit_test(test_libvirt_bad_uri),
		cmocka_unit_test(test_libvirt_finds_process_by_uuid),
		cmocka_unit_test(test_libvirt_prefers_pid_file),
		cmocka_unit_test(test_discovery_test_driver),
		cmocka_unit_test(test_discovery_stop_is_prompt),
		cmocka_unit_test(test_domain_cgroup_from_thread_cgroup),
		cmocka_unit_test(test_pid_file_read),
		cmocka_unit_test(test_pid_target_follows_its_pid_file),
		cmocka_unit_test(test_domain_xml_nics),
		cmocka_unit_test(test_discovery_without_libvirt),
		cmocka_unit_test(test_discovery_bad_uri),
		cmocka_unit_test(test_discovery_stop_with_hung_libvirt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
