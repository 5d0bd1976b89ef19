#include "bench_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom. */
static const double t95[30] = {
	12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201,	2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080,	2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *sorted, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	return sorted[rank ? rank - 1 : 0];
}

struct summary summarize(const double *x, size_t n)
{
	struct summary s = { 0 };
	if (n == 0)
		return s;
	double *sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return s;
	memcpy(sorted, x, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	s.n = n;
	s.mean = sum / (double)n;
	if (n > 1) {
		double ss = 0;
		for (size_t i = 0; i < n; i++)
			ss += (x[i] - s.mean) * (x[i] - s.mean);
		double sd = sqrt(ss / (double)(n - 1));
		double t = n - 1 <= 30 ? t95[n - 2] : 1.96;
		s.ci95 = t * sd / sqrt((double)n);
	}
	s.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	s.p99 = percentile(sorted, n, 99);
	s.min = sorted[0];
	s.max = sorted[n - 1];
	free(sorted);
	return s;
}
