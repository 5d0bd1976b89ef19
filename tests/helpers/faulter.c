/* A process that takes a known number of minor page faults: on SIGUSR1 it
 * maps, touches and unmaps --pages fresh anonymous pages, --rounds times,
 * 200 ms apart, then prints "done" and idles until --seconds have passed.
 *
 *   faulter [--pages N] [--rounds R] [--seconds S]
 *
 * It prints its pid first, so a test can start watching it before the
 * faults begin. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static int touch_fresh_pages(long pages, long page_size)
{
	char *p = mmap(NULL, (size_t)(pages * page_size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	for (long i = 0; i < pages; i++)
		p[i * page_size] = 1;
	munmap(p, (size_t)(pages * page_size));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pages", required_argument, NULL, 'p' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	long pages = 1000, rounds = 5, seconds = 60, page_size = sysconf(_SC_PAGESIZE);
	struct timespec gap = { 0, 200 * 1000 * 1000 };
	time_t deadline;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		long *v = c == 'p' ? &pages : c == 'r' ? &rounds : c == 's' ? &seconds : NULL;

		if (!v || (*v = strtol(optarg, NULL, 10)) <= 0 || *v > 1000000) {
			fprintf(stderr, "usage: faulter [--pages N] [--rounds R] [--seconds S] (each 1-1000000)\n");
			return 2;
		}
	}
	signal(SIGUSR1, on_usr1);
	printf("%d\n", (int)getpid());
	fflush(stdout);
	deadline = time(NULL) + seconds;
	while (!go && time(NULL) < deadline)
		usleep(10000);
	for (long r = 0; go && r < rounds; r++) {
		if (touch_fresh_pages(pages, page_size) < 0) {
			perror("faulter: mmap");
			return 1;
		}
		nanosleep(&gap, NULL);
	}
	printf("done\n");
	fflush(stdout);
	while (time(NULL) < deadline)
		sleep(1);
	return 0;
}
