/* Cost per event of the CPU scheduler programs (bpf/cpu_sched.bpf.c) under a
 * load heavy in context switches, next to empty programs on the same hooks.
 *
 * Two threads ping-pong a byte over pipes for a bounded number of round trips
 * (each one two context switches and two wakeups on a 2-core host). Run
 * twice: with the two threads unwatched (the common case on a hypervisor:
 * most threads are not VMs), then registered as one VM's vCPUs. bpf_stats are
 * enabled only while this runs (BPF_ENABLE_STATS); figures are the kernel's
 * run_time_ns / run_cnt for each program over each run.
 *
 *   sched_cost [ROUND_TRIPS]   (default 200000) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_loader.h"
#include "cpu_sched_loader.h"
#include "cpu_sched.skel.h"
#include "disk_io.skel.h"
#include "empty_sched.skel.h"

struct pingpong {
	int to_b[2], to_a[2];
	long trips;
	pid_t tid_b;
};

static void *player_b(void *arg)
{
	struct pingpong *pp = arg;
	char c;

	pp->tid_b = (pid_t)syscall(SYS_gettid);
	for (long i = 0; i < pp->trips; i++)
		if (read(pp->to_b[0], &c, 1) != 1 || write(pp->to_a[1], &c, 1) != 1)
			break;
	return NULL;
}

struct prog_stats {
	__u64 run_time_ns, run_cnt;
};

static struct prog_stats stats_of(int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return (struct prog_stats){ 0, 0 };
	return (struct prog_stats){ info.run_time_ns, info.run_cnt };
}

/* Mean ns per run between two readings, or -1 if the program never ran. */
static double ns_per_run(struct prog_stats a, struct prog_stats b)
{
	return b.run_cnt > a.run_cnt ? (double)(b.run_time_ns - a.run_time_ns) / (double)(b.run_cnt - a.run_cnt) : -1;
}

/* One ping-pong run; if watched, both threads are registered first. The
 * pipe reads and writes also pass the disk program's sys_enter, as calls
 * of a process that has no watched disk. */
/* Vigil's program and the empty one on the same hook, pair by pair. */
#define NPROGS 8
static const char *const prog_names[NPROGS / 2] = { "sched_switch", "sched_wakeup", "disk sys_enter",
						    "disk sys_exit" };

static int run(struct cpu_probe *probe, struct disk_io *disk, struct empty_sched *empty, long trips, int watched,
	       const char *label)
{
	struct cpu_sched *vigil = cpu_probe_skeleton(probe);
	struct pingpong pp = { .trips = trips };
	int fds[NPROGS] = { bpf_program__fd(vigil->progs.vigil_sched_switch), bpf_program__fd(empty->progs.empty_sched_switch),
			    bpf_program__fd(vigil->progs.vigil_sched_wakeup), bpf_program__fd(empty->progs.empty_sched_wakeup),
			    bpf_program__fd(disk->progs.vigil_disk_enter),    bpf_program__fd(empty->progs.empty_sys_enter),
			    bpf_program__fd(disk->progs.vigil_disk_exit),     bpf_program__fd(empty->progs.empty_sys_exit) };
	struct prog_stats before[NPROGS], after[NPROGS];
	double ns[NPROGS];
	pthread_t b;
	char c = 'x';

	if (pipe(pp.to_b) || pipe(pp.to_a) || pthread_create(&b, NULL, player_b, &pp))
		return -errno;
	while (!__atomic_load_n(&pp.tid_b, __ATOMIC_ACQUIRE))
		usleep(1000);
	/* Registered the way the probe registers a VM's vCPU threads. */
	if (watched && (cpu_probe_watch_thread(probe, (pid_t)syscall(SYS_gettid), 1, 0) ||
			cpu_probe_watch_thread(probe, pp.tid_b, 1, 1)))
		return -EINVAL;
	for (int i = 0; i < NPROGS; i++)
		before[i] = stats_of(fds[i]);
	for (long i = 0; i < trips; i++)
		if (write(pp.to_b[1], &c, 1) != 1 || read(pp.to_a[0], &c, 1) != 1)
			break;
	for (int i = 0; i < NPROGS; i++)
		after[i] = stats_of(fds[i]);
	pthread_join(b, NULL);
	for (int i = 0; i < 2; i++) {
		close(pp.to_b[i]);
		close(pp.to_a[i]);
	}

	for (int i = 0; i < NPROGS; i++)
		ns[i] = ns_per_run(before[i], after[i]);
	printf("%s (%llu switches)\n", label, (unsigned long long)(after[0].run_cnt - before[0].run_cnt));
	for (int i = 0; i < NPROGS; i += 2)
		printf("  %-15s %6.1f ns/run  (empty %5.1f, ratio %.2f)\n", prog_names[i / 2], ns[i], ns[i + 1],
		       ns[i] / ns[i + 1]);
	return 0;
}

int main(int argc, char **argv)
{
	long trips = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	struct cpu_probe *vigil = NULL;
	struct disk_io *disk = NULL;
	struct empty_sched *empty = NULL;
	char err[256];
	int stats_fd, rc = 1;

	if (trips <= 0 || trips > 10000000) {
		fprintf(stderr, "usage: sched_cost [ROUND_TRIPS 1-10000000]\n");
		return 2;
	}
	libbpf_set_print(bpf_loader_print); /* warnings only, as in vigil-probe */
	if (cpu_probe_open(&vigil, err, sizeof(err)) < 0) {
		fprintf(stderr, "sched_cost: %s\n", err);
		goto out;
	}
	disk = disk_io__open_and_load();
	empty = empty_sched__open_and_load();
	if (!disk || !empty || disk_io__attach(disk) || empty_sched__attach(empty)) {
		fprintf(stderr, "sched_cost: loading or attaching the programs failed (root? BTF?)\n");
		goto out;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "sched_cost: enabling bpf_stats failed: %s\n", strerror(errno));
		goto out;
	}
	printf("%ld round trips per run, bpf_stats on; the whole host's events count\n", trips);
	rc = run(vigil, disk, empty, trips, 0, "threads unwatched:") || run(vigil, disk, empty, trips, 1, "threads watched:");
	close(stats_fd);
out:
	cpu_probe_close(vigil);
	disk_io__destroy(disk);
	empty_sched__destroy(empty);
	return rc;
}
