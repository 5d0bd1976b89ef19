/* Test load generator: N threads, each busy for a fixed share of every 20 ms.
 *
 *   burn [--duty PCT] [--threads N] [--name-threads FMT] [--seconds S]
 *        [--lifetime-ms MS]
 *
 * FMT names thread i, e.g. "CPU %d/KVM" makes the threads look like QEMU vCPU
 * threads. With --lifetime-ms each thread exits after MS ms and a new one
 * takes its place, so that the process's CPU time is mostly that of threads
 * which have exited. The pid is printed on start. The run is bounded (at most an hour)
 * so that a forgotten burn cannot heat a machine forever. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_NS      20000000LL
#define MAX_SECONDS    3600
#define MAX_THREADS    1024
#define THREAD_NAME_SZ 16 /* the kernel's comm, NUL included */

struct burn_config {
	int duty;               /* percent of each period spent on CPU */
	int nthreads;
	int seconds;
	const char *name_fmt;   /* NULL: threads keep the program's name */
	int lifetime_ms;        /* 0: threads live for the whole run */
};

struct burner {
	const struct burn_config *cfg;
	int index;
	int64_t deadline_ns;    /* when this thread stops */
	pthread_t thread;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t t_ns)
{
	struct timespec ts = { .tv_sec = t_ns / 1000000000LL, .tv_nsec = t_ns % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void name_thread(const struct burner *b)
{
	char name[THREAD_NAME_SZ];

	/* snprintf truncates to the 15 characters the kernel keeps. */
	snprintf(name, sizeof(name), b->cfg->name_fmt, b->index);
	pthread_setname_np(pthread_self(), name);
}

static void *burn_thread(void *arg)
{
	const struct burner *b = arg;
	int64_t busy_ns = PERIOD_NS * b->cfg->duty / 100;
	int64_t period_start = now_ns();

	if (b->cfg->name_fmt)
		name_thread(b);
	while (period_start < b->deadline_ns) {
		int64_t period_end = period_start + PERIOD_NS;

		while (now_ns() < period_start + busy_ns)
			;
		/* An absolute wake-up time keeps the periods from drifting
		 * by the latency of each wake-up. */
		if (busy_ns < PERIOD_NS)
			sleep_until(period_end);
		period_start = period_end;
	}
	return NULL;
}

/* FMT is applied to an int, so it must hold exactly one %d and no other
 * conversion ("%%" is a literal percent sign). */
static bool valid_name_format(const char *fmt)
{
	int conversions = 0;

	for (const char *s = strchr(fmt, '%'); s; s = strchr(s + 2, '%')) {
		if (s[1] == '%')
			continue;
		if (s[1] != 'd')
			return false;
		conversions++;
	}
	return conversions == 1;
}

static bool parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: burn [--duty PCT] [--threads N] [--name-threads FMT] [--seconds S]\n"
		   "  --duty PCT          busy share of every 20 ms, 0-100 (default 100)\n"
		   "  --threads N         busy threads, 1-%d (default 1)\n"
		   "  --name-threads FMT  name thread i FMT with i for its one %%d\n"
		   "  --seconds S         run time, 1-%d (default 600)\n"
		   "  --lifetime-ms MS    replace each thread by a new one every MS ms, 10-60000\n",
		MAX_THREADS, MAX_SECONDS);
}

/* Returns 0, or 2 (the exit status for bad usage). */
static int parse_args(int argc, char **argv, struct burn_config *cfg)
{
	static const struct option options[] = {
		{ "duty", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "name-threads", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "lifetime-ms", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, idx;

	*cfg = (struct burn_config){ .duty = 100, .nthreads = 1, .seconds = 600 };
	while ((opt = getopt_long(argc, argv, "", options, &idx)) != -1) {
		bool ok;

		switch (opt) {
		case 'd':
			ok = parse_int(optarg, 0, 100, &cfg->duty);
			break;
		case 't':
			ok = parse_int(optarg, 1, MAX_THREADS, &cfg->nthreads);
			break;
		case 's':
			ok = parse_int(optarg, 1, MAX_SECONDS, &cfg->seconds);
			break;
		case 'l':
			ok = parse_int(optarg, 10, 60000, &cfg->lifetime_ms);
			break;
		case 'n':
			cfg->name_fmt = optarg;
			ok = valid_name_format(optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default: /* getopt_long has said what is wrong */
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "burn: bad value '%s' for --%s\n", optarg, options[idx].name);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "burn: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}

/* Starts burner b, to stop at the end of its lifetime or of the run. */
static void burner_start(struct burner *b, int64_t run_deadline)
{
	int64_t end = b->cfg->lifetime_ms ? now_ns() + (int64_t)b->cfg->lifetime_ms * 1000000LL : run_deadline;
	int rc;

	b->deadline_ns = end < run_deadline ? end : run_deadline;
	rc = pthread_create(&b->thread, NULL, burn_thread, b);
	if (rc) {
		fprintf(stderr, "burn: starting thread %d: %s\n", b->index, strerror(rc));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct burn_config cfg;
	struct burner *burners;
	int64_t deadline;
	int rc = parse_args(argc, argv, &cfg);

	if (rc)
		return rc;
	burners = calloc((size_t)cfg.nthreads, sizeof(*burners));
	if (!burners) {
		perror("burn: allocating threads");
		return 1;
	}
	printf("%d\n", (int)getpid());
	fflush(stdout);

	deadline = now_ns() + (int64_t)cfg.seconds * 1000000000LL;
	for (int i = 0; i < cfg.nthreads; i++) {
		burners[i] = (struct burner){ .cfg = &cfg, .index = i };
		burner_start(&burners[i], deadline);
	}
	/* Every thread has the same lifetime, so joining in order replaces
	 * each one as it ends. */
	for (bool running = true; running;) {
		for (int i = 0; i < cfg.nthreads; i++)
			pthread_join(burners[i].thread, NULL);
		running = cfg.lifetime_ms && now_ns() < deadline;
		for (int i = 0; running && i < cfg.nthreads; i++)
			burner_start(&burners[i], deadline);
	}
	free(burners);
	return 0;
}
