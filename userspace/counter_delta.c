#include "counter_delta.h"

#include "log.h"

/* The growth across one wrap, if it passes the plausibility rule of
 * counter_delta.h. */
static bool plausible_wrap(uint64_t prev, uint64_t cur, unsigned width, uint64_t *delta)
{
	uint64_t range, across;

	if (width == 0 || width >= 64)
		return false;
	range = 1ull << width;
	if (prev >= range || cur >= range)
		return false; /* wider than assumed: not this width's wrap */
	across = range - prev + cur;
	if (across >= range / 2)
		return false;
	*delta = across;
	return true;
}

enum counter_step counter_delta(const uint64_t *prev, uint64_t cur, unsigned width, uint64_t *delta)
{
	if (!prev) {
		*delta = 0;
		return COUNTER_FIRST;
	}
	if (cur >= *prev) {
		*delta = cur - *prev;
		return COUNTER_NORMAL;
	}
	if (plausible_wrap(*prev, cur, width, delta))
		return COUNTER_WRAP;
	*delta = cur;
	return COUNTER_RESET;
}

const char *counter_step_name(enum counter_step step)
{
	switch (step) {
	case COUNTER_FIRST:
		return "first";
	case COUNTER_NORMAL:
		return "normal";
	case COUNTER_WRAP:
		return "wrap";
	case COUNTER_RESET:
		return "reset";
	}
	return "?";
}

uint64_t counter_advance(uint64_t *last, uint64_t cur, unsigned width, Vigil__VmSamples *vm, const char *counter,
			 const char *detail)
{
	uint64_t delta;
	enum counter_step step = counter_delta(last, cur, width, &delta);

	if (step == COUNTER_WRAP || step == COUNTER_RESET) {
		vm->counters_reset = 1;
		log_debug("vm %s: counter %s%s%s went from %llu to %llu (%s); counted as %llu", vm->name, counter,
			  detail ? " " : "", detail ? detail : "", (unsigned long long)*last,
			  (unsigned long long)cur, counter_step_name(step), (unsigned long long)delta);
	}
	*last = cur;
	return delta;
}
