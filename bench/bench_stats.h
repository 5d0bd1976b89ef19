/* Summaries of repeated measurements: mean with a 95% confidence interval
 * (Student's t), median and tail percentiles. */
#ifndef VIGIL_BENCH_STATS_H
#define VIGIL_BENCH_STATS_H

#include <stddef.h>

struct summary {
	size_t n;
	double mean;
	double ci95;   /* half-width of the 95% confidence interval of the mean; 0 when n < 2 */
	double median;
	double p99;
	double min, max;
};

/* Summarises x[0..n) (x is not modified). All zero when n is 0. */
struct summary summarize(const double *x, size_t n);

#endif
