/* The temporal-interval rule (docs/storage.md): when a reading extends the
 * open row of its series and when it starts a new one. */
#ifndef VIGIL_INTERVAL_H
#define VIGIL_INTERVAL_H

#include <stdint.h>

/* The coalescing rule for collector-derived readings (probe readings
 * follow the VM's batches, see docs/storage.md). */
enum interval_action { INTERVAL_NEW, INTERVAL_EXTEND };

struct open_interval {
	double value;
	int64_t t_end_ms;
};

/* A reading [t_start_ms, t_end_ms] with value extends prev when the value is
 * identical and the reading continues prev without a gap: no reading for
 * more than 1.5 intervals, and not starting before prev ended (a clock step
 * backwards starts a new row rather than rewriting history). prev NULL: no
 * open interval. */
enum interval_action interval_decide(const struct open_interval *prev, double value,
				     int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms);

/* Whether a reading ending at t_end_ms continues one that ended at
 * prev_end_ms (the gap rule above). */
int interval_continues(int64_t prev_end_ms, int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms);

#endif
