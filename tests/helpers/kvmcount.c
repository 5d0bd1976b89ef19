/* Test driver for the KVM exit probe (userspace/kvm_exit.c): counts the VM
 * exits of one process until it exits, then prints them.
 *
 *   kvmcount --pid PID [--slot N] [--seconds S]
 *
 * Prints "ready" once it counts, then waits until PID has exited (at most S
 * seconds, default 30) and prints one line per count,
 * "count SLOT ISA REASON NAME N" (REASON in hex, NAME "unknown_N" when the
 * kernel has no name for it), then "lost N".
 *
 * When the probe cannot be opened it does what vigil-probe does: says
 * "KVM exits not counted: ..." on stderr and goes on without counts. It
 * then prints "degraded errno=E" instead of "ready", still waits, and
 * prints "lost 0". Exit codes: 0 done (counting or degraded), 1 runtime
 * error, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bpf_loader.h"
#include "kvm_exit_loader.h"

#define MAX_SECONDS 600

struct kvmcount_config {
	pid_t pid;
	uint32_t slot;
	int seconds;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmcount --pid PID [--slot N] [--seconds S]\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct kvmcount_config *cfg)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "slot", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ 0 },
	};
	long v;
	int c;

	*cfg = (struct kvmcount_config){ .slot = 1, .seconds = 30 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_long(optarg, 1, INT32_MAX, &v))
				return -1;
			cfg->pid = (pid_t)v;
			break;
		case 'n':
			if (parse_long(optarg, 0, UINT32_MAX, &v))
				return -1;
			cfg->slot = (uint32_t)v;
			break;
		case 's':
			if (parse_long(optarg, 1, MAX_SECONDS, &v))
				return -1;
			cfg->seconds = (int)v;
			break;
		default:
			return -1;
		}
	}
	return optind == argc && cfg->pid > 0 ? 0 : -1;
}

/* Waits until pid has exited or the time is up. A pidfd tells when a
 * process that is not our child exits; without one (kernels before 5.3),
 * /proc is polled. */
static void wait_for_exit(pid_t pid, int seconds)
{
	struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	char path[32];

	if (fd >= 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		while (poll(&pfd, 1, seconds * 1000) < 0 && errno == EINTR)
			;
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	for (long waited_ms = 0; waited_ms < seconds * 1000L && access(path, F_OK) == 0; waited_ms += 50)
		nanosleep(&tick, NULL);
}

static int print_counts(struct kvm_probe *p)
{
	struct kvm_exit_reading *r;
	uint64_t lost;
	int n = kvm_probe_snapshot(p, &r);

	if (n < 0) {
		fprintf(stderr, "kvmcount: reading the counts: %s\n", strerror(-n));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *isa = kvm_exit_isa_name(r[i].isa);
		const char *name = kvm_exit_reason_name(r[i].isa, r[i].exit_reason);
		char unknown[32];

		if (!name) {
			snprintf(unknown, sizeof(unknown), "unknown_%u", r[i].exit_reason);
			name = unknown;
		}
		printf("count %u %s 0x%x %s %llu\n", r[i].vm_slot, isa ? isa : "isa?", r[i].exit_reason, name,
		       (unsigned long long)r[i].count);
	}
	free(r);
	n = kvm_probe_lost(p, &lost);
	if (n < 0) {
		fprintf(stderr, "kvmcount: reading the lost count: %s\n", strerror(-n));
		return -1;
	}
	printf("lost %llu\n", (unsigned long long)lost);
	return 0;
}

int main(int argc, char **argv)
{
	struct kvmcount_config cfg;
	struct kvm_probe *p;
	char err[512];
	int rc;

	if (parse_args(argc, argv, &cfg)) {
		usage(stderr);
		return 2;
	}
	libbpf_set_print(bpf_loader_print); /* as vigil-probe does */
	rc = kvm_probe_open(&p, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kvmcount: KVM exits not counted: %s\n", err);
		printf("degraded errno=%d\n", -rc);
		fflush(stdout);
		wait_for_exit(cfg.pid, cfg.seconds);
		printf("lost 0\n");
		return 0;
	}
	rc = kvm_probe_watch_process(p, cfg.pid, cfg.slot);
	if (rc) {
		fprintf(stderr, "kvmcount: watching process %d: %s\n", (int)cfg.pid, strerror(-rc));
		kvm_probe_close(p);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	wait_for_exit(cfg.pid, cfg.seconds);
	rc = print_counts(p);
	kvm_probe_close(p);
	return rc ? 1 : 0;
}
