#include "interval.h"

int interval_continues(int64_t prev_end_ms, int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms)
{
	if (t_start_ms < prev_end_ms)
		return 0;
	/* Gap: no reading for more than 1.5 intervals. In integers: 2*dt > 3*interval. */
	return 2 * (t_end_ms - prev_end_ms) <= 3 * (int64_t)interval_ms;
}

enum interval_action interval_decide(const struct open_interval *prev, double value,
				     int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms)
{
	if (!prev || prev->value != value)
		return INTERVAL_NEW;
	return interval_continues(prev->t_end_ms, t_start_ms, t_end_ms, interval_ms) ? INTERVAL_EXTEND : INTERVAL_NEW;
}
