/* Test load generator: N threads, each busy for a fixed share of every 20 ms.
 *
 *   burn [--duty PCT] [--threads N] [--name-threads FMT] [--seconds S]
 *
 * FMT names thread i, e.g. "CPU %d/KVM" makes the threads look like QEMU vCPU
 * threads. The pid is printed on start. The run is bounded (at most an hour)
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
};

struct burner {
	const struct burn_config *cfg;
	int index;
	int64_t deadline_ns;
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
		   "  --seconds S         run time, 1-%d (default 600)\n",
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
		burners[i] = (struct burner){ .cfg = &cfg, .index = i, .deadline_ns = deadline };
		rc = pthread_create(&burners[i].thread, NULL, burn_thread, &burners[i]);
		if (rc) {
			fprintf(stderr, "burn: starting thread %d: %s\n", i, strerror(rc));
			exit(1);
		}
	}
	for (int i = 0; i < cfg.nthreads; i++)
		pthread_join(burners[i].thread, NULL);
	free(burners);
	return 0;
}
