/* Cost per event of the io_uring programs of bpf/disk_io.bpf.c, next to
 * empty programs on the same hooks (bench/empty_uring.bpf.c).
 *
 * Writes a bounded number of 4 KiB blocks to /dev/null through io_uring, 32
 * requests per submission (the requests complete at once, so the figures are
 * the programs' own cost, not I/O). Run twice: with the descriptor unwatched
 * (what every other io_uring user of a hypervisor costs: an opcode compare
 * and a hash lookup on submission, one on completion), then registered as a
 * VM's disk (timed and counted). Figures are the kernel's run_time_ns /
 * run_cnt over each run, with bpf_stats on only while this runs.
 *
 *   uring_cost [REQUESTS]   (default 200000) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <liburing.h>

#include "disk_io.h"
#include "disk_io.skel.h"
#include "pid_bitmap.h"
#include "empty_uring.skel.h"

#define BATCH 32
#define BLOCK 4096

struct prog_stats {
	__u64 run_time_ns, run_cnt;
};

static struct prog_stats stats_of(struct bpf_program *prog)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return (struct prog_stats){ 0, 0 };
	return (struct prog_stats){ info.run_time_ns, info.run_cnt };
}

static double ns_per_run(struct prog_stats a, struct prog_stats b)
{
	return b.run_cnt > a.run_cnt ? (double)(b.run_time_ns - a.run_time_ns) / (double)(b.run_cnt - a.run_cnt) : -1;
}

/* requests writes of fd, BATCH at a time; 0, or -1 if one failed. */
static int write_requests(struct io_uring *ring, int fd, long requests, char *buf)
{
	for (long done = 0; done < requests; done += BATCH) {
		struct io_uring_cqe *cqe;

		for (int i = 0; i < BATCH; i++)
			io_uring_prep_write(io_uring_get_sqe(ring), fd, buf, BLOCK, 0);
		if (io_uring_submit(ring) != BATCH)
			return -1;
		for (int i = 0; i < BATCH; i++) {
			if (io_uring_wait_cqe(ring, &cqe) < 0 || cqe->res != BLOCK)
				return -1;
			io_uring_cqe_seen(ring, cqe);
		}
	}
	return 0;
}

static struct pid_bitmap disk_tgids;

/* What the probe does for a VM's disk: the descriptor's entry, and the
 * process's bit. */
static void watch_fd(struct disk_io *disk, int fd)
{
	struct vigil_disk_fd key = { .tgid = (__u32)getpid(), .fd = fd };
	struct vigil_disk_key value = { .vm_slot = 1, .disk = 0 };

	bpf_map_update_elem(bpf_map__fd(disk->maps.disk_fds), &key, &value, BPF_ANY);
	pid_bitmap_set(&disk_tgids, getpid());
}

static int run(struct disk_io *disk, struct empty_uring *empty, struct io_uring *ring, int fd, long requests,
	       const char *label)
{
	struct bpf_program *progs[4] = { disk->progs.vigil_disk_uring_submit, empty->progs.empty_uring_submit,
					  disk->progs.vigil_disk_uring_complete, empty->progs.empty_uring_complete };
	struct prog_stats before[4], after[4];
	static char buf[BLOCK];

	for (int i = 0; i < 4; i++)
		before[i] = stats_of(progs[i]);
	if (write_requests(ring, fd, requests, buf) < 0) {
		fprintf(stderr, "uring_cost: an io_uring write failed\n");
		return -1;
	}
	for (int i = 0; i < 4; i++)
		after[i] = stats_of(progs[i]);
	double sub = ns_per_run(before[0], after[0]), sub0 = ns_per_run(before[1], after[1]);
	double cpl = ns_per_run(before[2], after[2]), cpl0 = ns_per_run(before[3], after[3]);
	printf("%-17s io_uring_submit_req %6.1f ns/run (empty %5.1f, ratio %.2f, %llu runs)  "
	       "io_uring_complete %6.1f ns (empty %5.1f, ratio %.2f)\n",
	       label, sub, sub0, sub / sub0, (unsigned long long)(after[0].run_cnt - before[0].run_cnt), cpl, cpl0,
	       cpl / cpl0);
	return 0;
}

int main(int argc, char **argv)
{
	long requests = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	struct disk_io *disk = NULL;
	struct empty_uring *empty = NULL;
	struct io_uring ring;
	int fd, stats_fd, rc = 1;

	if (requests <= 0 || requests > 10000000) {
		fprintf(stderr, "usage: uring_cost [REQUESTS 1-10000000]\n");
		return 2;
	}
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || io_uring_queue_init(BATCH, &ring, 0) < 0) {
		fprintf(stderr, "uring_cost: setting up io_uring failed\n");
		return 1;
	}
	disk = disk_io__open_and_load();
	if (disk && pid_bitmap_map(&disk_tgids, disk->maps.disk_tgids)) {
		disk_io__destroy(disk);
		disk = NULL;
	}
	empty = empty_uring__open_and_load();
	if (!disk || !empty || disk_io__attach(disk) || empty_uring__attach(empty)) {
		fprintf(stderr, "uring_cost: loading or attaching the programs failed (root? BTF? io_uring tracepoints?)\n");
		goto out;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "uring_cost: enabling bpf_stats failed: %s\n", strerror(errno));
		goto out;
	}
	printf("%ld io_uring writes of %d bytes to /dev/null per run, %d per submission, bpf_stats on\n", requests,
	       BLOCK, BATCH);
	rc = run(disk, empty, &ring, fd, requests, "fd unwatched:");
	if (!rc) {
		watch_fd(disk, fd);
		rc = run(disk, empty, &ring, fd, requests, "fd a VM's disk:");
	}
	close(stats_fd);
out:
	pid_bitmap_unmap(&disk_tgids);
	disk_io__destroy(disk);
	empty_uring__destroy(empty);
	io_uring_queue_exit(&ring);
	close(fd);
	return rc ? 1 : 0;
}
