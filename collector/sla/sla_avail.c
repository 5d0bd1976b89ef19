#include "sla_avail.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int span_cmp(const void *a, const void *b)
{
	const struct sla_span *x = a, *y = b;
	return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

static int add_outage(struct sla_availability *a, int64_t start, int64_t end, size_t *cap)
{
	if (a->n_outages == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		struct sla_span *grown = realloc(a->outages, *cap * sizeof(*grown));
		if (!grown)
			return -1;
		a->outages = grown;
	}
	a->outages[a->n_outages++] = (struct sla_span){ start, end };
	a->downtime_ms += end - start;
	return 0;
}

int sla_availability_compute(const struct sla_span *up, size_t n, int64_t window_start_ms, int64_t window_end_ms,
			     double target_pct, struct sla_availability *out)
{
	memset(out, 0, sizeof(*out));
	out->window_start_ms = window_start_ms;
	out->window_end_ms = window_end_ms;
	out->target_pct = target_pct;
	struct sla_span *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return -1;
	if (n)
		memcpy(sorted, up, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), span_cmp);
	size_t cap = 0;
	/* Walk the window: covered_to is how far the UP intervals reach. */
	int64_t covered_to = window_start_ms;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int64_t s = sorted[i].start_ms < window_start_ms ? window_start_ms : sorted[i].start_ms;
		int64_t e = sorted[i].end_ms > window_end_ms ? window_end_ms : sorted[i].end_ms;
		if (e <= s)
			continue;
		if (s - covered_to > SLA_AVAIL_JITTER_MS)
			rc = add_outage(out, covered_to, s, &cap);
		if (e > covered_to)
			covered_to = e;
	}
	if (rc == 0 && window_end_ms - covered_to > SLA_AVAIL_JITTER_MS)
		rc = add_outage(out, covered_to, window_end_ms, &cap);
	free(sorted);
	if (rc < 0) {
		sla_availability_free(out);
		return -1;
	}
	int64_t window = window_end_ms - window_start_ms;
	out->uptime_ms = window - out->downtime_ms;
	out->uptime_pct = window > 0 ? 100.0 * (double)out->uptime_ms / (double)window : 100.0;
	out->nines = sla_nines(window > 0 ? (double)out->uptime_ms / (double)window : 1.0);
	if (out->n_outages) {
		out->mtbf_ms = out->uptime_ms / (int64_t)out->n_outages;
		out->mttr_ms = out->downtime_ms / (int64_t)out->n_outages;
	}
	out->allowed_downtime_ms = sla_allowed_downtime_ms(window, target_pct);
	out->target_met = out->downtime_ms <= out->allowed_downtime_ms;
	return 0;
}

void sla_availability_free(struct sla_availability *a)
{
	free(a->outages);
	a->outages = NULL;
	a->n_outages = 0;
}

int64_t sla_allowed_downtime_ms(int64_t window_ms, double target_pct)
{
	return (int64_t)llround((1.0 - target_pct / 100.0) * (double)window_ms);
}

double sla_nines(double up_fraction)
{
	if (up_fraction >= 1.0)
		return INFINITY;
	return -log10(1.0 - up_fraction);
}

void sla_format_duration(int64_t ms, char *out, size_t len)
{
	if (ms < 0)
		ms = 0;
	long long d = ms / 86400000, h = ms / 3600000 % 24, m = ms / 60000 % 60;
	double sec = (double)(ms % 60000) / 1000.0;
	char s[16];
	snprintf(s, sizeof(s), sec == floor(sec) ? "%.0f s" : "%.1f s", sec);
	/* Three units at most: the largest one present and the two below. */
	if (d)
		snprintf(out, len, "%lld d %lld h %lld min", d, h, m);
	else if (h)
		snprintf(out, len, "%lld h %lld min %s", h, m, s);
	else if (m)
		snprintf(out, len, "%lld min %s", m, s);
	else
		snprintf(out, len, "%s", s);
}
