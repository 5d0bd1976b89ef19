/* A process that reads and writes a known number of bytes of a file through
 * io_uring, as QEMU does with io='io_uring'. On SIGUSR1 it:
 *  1. writes --blocks blocks of --block-kib KiB to --file, --depth requests
 *     in flight at a time, rotating through the opcodes WRITEV, WRITE and
 *     WRITE_FIXED; then reads them back with READV, READ and READ_FIXED;
 *  2. submits one write with a bad buffer, which fails with -EFAULT;
 *  3. writes the same blocks to --other (through io_uring too);
 *  4. writes --pwrite-blocks more blocks to --file with pwrite(2);
 * then prints "done URING_WRITTEN URING_READ PWRITTEN" (bytes, as the kernel
 * reported them) and idles until --seconds have passed.
 *
 *   uring_io --file PATH --other PATH [--blocks N] [--block-kib K]
 *            [--depth D] [--pwrite-blocks N] [--seconds S]
 *
 * It opens both files and prints its pid first, so a test can register the
 * descriptors before any I/O. Exits 1 if any request other than the bad
 * one does not move its whole block. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

#define MAX_DEPTH 64

struct job {
	struct io_uring ring;
	char *buf;        /* one block per request in flight; registered */
	struct iovec iov[MAX_DEPTH];
	size_t block;
	unsigned depth;
};

/* Queues block number blk of fd, in or out of buffer slot, with the
 * vectored (kind 0), plain (1) or registered-buffer (2) opcode. */
static void queue_block(struct job *j, int fd, int is_write, unsigned slot, long blk, int kind)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&j->ring);
	char *p = j->buf + (size_t)slot * j->block;
	__u64 off = (__u64)blk * j->block;

	j->iov[slot] = (struct iovec){ p, j->block };
	switch (kind) {
	case 0:
		if (is_write)
			io_uring_prep_writev(sqe, fd, &j->iov[slot], 1, off);
		else
			io_uring_prep_readv(sqe, fd, &j->iov[slot], 1, off);
		break;
	case 1:
		if (is_write)
			io_uring_prep_write(sqe, fd, p, (unsigned)j->block, off);
		else
			io_uring_prep_read(sqe, fd, p, (unsigned)j->block, off);
		break;
	default:
		if (is_write)
			io_uring_prep_write_fixed(sqe, fd, p, (unsigned)j->block, off, 0);
		else
			io_uring_prep_read_fixed(sqe, fd, p, (unsigned)j->block, off, 0);
		break;
	}
}

/* Waits for n completions; returns the bytes they moved, or -1 if one
 * moved less than a block. */
static long long reap(struct job *j, unsigned n)
{
	long long bytes = 0;

	for (unsigned i = 0; i < n; i++) {
		struct io_uring_cqe *cqe;
		int rc = io_uring_wait_cqe(&j->ring, &cqe);

		if (rc < 0) {
			fprintf(stderr, "uring_io: waiting for a completion: %s\n", strerror(-rc));
			return -1;
		}
		if (cqe->res != (int)j->block) {
			fprintf(stderr, "uring_io: a request moved %d bytes, not %zu\n", cqe->res, j->block);
			io_uring_cqe_seen(&j->ring, cqe);
			return -1;
		}
		bytes += cqe->res;
		io_uring_cqe_seen(&j->ring, cqe);
	}
	return bytes;
}

/* Moves blocks blocks of fd in batches of depth; total bytes or -1. */
static long long transfer(struct job *j, int fd, int is_write, long blocks)
{
	long long total = 0;

	for (long first = 0; first < blocks; first += j->depth) {
		unsigned n = (unsigned)(blocks - first < (long)j->depth ? blocks - first : (long)j->depth);
		long long got;

		for (unsigned i = 0; i < n; i++)
			queue_block(j, fd, is_write, i, first + i, (int)((first + i) % 3));
		if (io_uring_submit(&j->ring) != (int)n)
			return -1;
		got = reap(j, n);
		if (got < 0)
			return -1;
		total += got;
	}
	return total;
}

/* One write from an unmapped buffer: the kernel answers -EFAULT. */
static int failing_write(struct job *j, int fd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&j->ring);
	struct io_uring_cqe *cqe;
	int res;

	io_uring_prep_write(sqe, fd, (void *)8, (unsigned)j->block, 0);
	if (io_uring_submit(&j->ring) != 1 || io_uring_wait_cqe(&j->ring, &cqe) < 0)
		return -1;
	res = cqe->res;
	io_uring_cqe_seen(&j->ring, cqe);
	return res < 0 ? 0 : -1;
}

static long long pwrite_blocks(struct job *j, int fd, long blocks, long first)
{
	long long total = 0;

	for (long i = 0; i < blocks; i++) {
		ssize_t n = pwrite(fd, j->buf, j->block, (off_t)(first + i) * (off_t)j->block);

		if (n != (ssize_t)j->block)
			return -1;
		total += n;
	}
	return total;
}

static int usage(void)
{
	fprintf(stderr, "usage: uring_io --file PATH --other PATH [--blocks 1-4096] [--block-kib 1-1024]\n"
			"                [--depth 1-64] [--pwrite-blocks 0-4096] [--seconds 1-3600]\n");
	return 2;
}

static int set_long(const char *text, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	return errno || *end || end == text || *out < lo || *out > hi ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },	   { "other", required_argument, NULL, 'o' },
		{ "blocks", required_argument, NULL, 'b' },	   { "block-kib", required_argument, NULL, 'k' },
		{ "depth", required_argument, NULL, 'd' },	   { "pwrite-blocks", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },	   { NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *other = NULL;
	long blocks = 64, kib = 64, depth = 8, pblocks = 0, seconds = 60;
	long long wrote, read, pwrote;
	struct job j = { 0 };
	struct iovec reg;
	time_t deadline;
	int c, fd, ofd, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'f': file = optarg; break;
		case 'o': other = optarg; break;
		case 'b': bad = set_long(optarg, 1, 4096, &blocks); break;
		case 'k': bad = set_long(optarg, 1, 1024, &kib); break;
		case 'd': bad = set_long(optarg, 1, MAX_DEPTH, &depth); break;
		case 'p': bad = set_long(optarg, 0, 4096, &pblocks); break;
		case 's': bad = set_long(optarg, 1, 3600, &seconds); break;
		default: bad = 1;
		}
		if (bad)
			return usage();
	}
	if (!file || !other)
		return usage();
	j.block = (size_t)kib * 1024;
	j.depth = (unsigned)depth;
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ofd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
	j.buf = malloc(j.block * j.depth);
	if (fd < 0 || ofd < 0 || !j.buf) {
		perror("uring_io: opening the files");
		return 1;
	}
	memset(j.buf, 'v', j.block * j.depth);
	rc = io_uring_queue_init(j.depth * 2, &j.ring, 0);
	reg = (struct iovec){ j.buf, j.block * j.depth };
	if (rc < 0 || (rc = io_uring_register_buffers(&j.ring, &reg, 1)) < 0) {
		fprintf(stderr, "uring_io: setting up io_uring: %s\n", strerror(-rc));
		return 1;
	}
	signal(SIGUSR1, on_usr1);
	printf("%d\n", (int)getpid());
	fflush(stdout);
	deadline = time(NULL) + seconds;
	while (!go && time(NULL) < deadline)
		usleep(10000);
	if (!go)
		return 1;
	wrote = transfer(&j, fd, 1, blocks);
	read = wrote < 0 ? -1 : transfer(&j, fd, 0, blocks);
	if (read < 0 || failing_write(&j, fd) < 0 || transfer(&j, ofd, 1, blocks) < 0 ||
	    (pwrote = pwrite_blocks(&j, fd, pblocks, blocks)) < 0) {
		fprintf(stderr, "uring_io: the I/O did not go as planned\n");
		return 1;
	}
	printf("done %lld %lld %lld\n", wrote, read, pwrote);
	fflush(stdout);
	while (time(NULL) < deadline)
		sleep(1);
	io_uring_queue_exit(&j.ring);
	return 0;
}
