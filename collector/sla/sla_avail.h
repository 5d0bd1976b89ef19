/* Availability arithmetic: from a VM's UP intervals over a window to
 * uptime, the number of nines, outages, MTBF and MTTR, and whether a target
 * such as 99.9% is met. d = MTBF / (MTBF + MTTR) = uptime / window. */
#ifndef VIGIL_SLA_AVAIL_H
#define VIGIL_SLA_AVAIL_H

#include <stddef.h>
#include <stdint.h>

/* Gaps between UP intervals shorter than this are timing jitter between
 * consecutive batches, not outages. */
#define SLA_AVAIL_JITTER_MS 1000

struct sla_span {
	int64_t start_ms, end_ms;
};

struct sla_availability {
	int64_t window_start_ms, window_end_ms;
	int64_t uptime_ms, downtime_ms;
	double uptime_pct;
	double nines;      /* -log10(1 - uptime fraction); INFINITY without downtime */
	int64_t mtbf_ms;   /* uptime / outages; 0 without outages */
	int64_t mttr_ms;   /* downtime / outages; 0 without outages */
	double target_pct;
	int64_t allowed_downtime_ms;
	int target_met;
	struct sla_span *outages; /* malloc'd; sla_availability_free() */
	size_t n_outages;
};

/* up: the intervals the VM was up, in any order, possibly overlapping.
 * Everything in [window_start, window_end] not covered is downtime; each
 * maximal uncovered stretch is one outage. 0, or -1 (memory). */
int sla_availability_compute(const struct sla_span *up, size_t n, int64_t window_start_ms, int64_t window_end_ms,
			     double target_pct, struct sla_availability *out);
void sla_availability_free(struct sla_availability *a);

/* The downtime a target allows over a window: (1 - target/100) * window. */
int64_t sla_allowed_downtime_ms(int64_t window_ms, double target_pct);

/* -log10(1 - fraction): 2 for 99%, 3 for 99.9%; INFINITY for 1. */
double sla_nines(double up_fraction);

/* "3 d 15 h 36 min", "8 h 45 min 36 s", "52 min 33.6 s", "0 s": three
 * units at most, starting from the largest present. */
void sla_format_duration(int64_t ms, char *out, size_t len);

#endif
