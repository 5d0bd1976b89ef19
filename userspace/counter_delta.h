/* Per-interval growth of cumulative counters, with resets and wraps told
 * apart from ordinary growth instead of being clamped away silently.
 *
 * Every sampler keeps the last cumulative reading of each counter and sends
 * the growth since. A reading below the last one means one of two things:
 *
 *  - a wrap: a counter narrower than 64 bits passed its maximum and started
 *    again from zero. Only counters that can really be narrow are read with
 *    a width below 64: the guest's own event counters that a 32-bit guest
 *    kernel keeps in an unsigned long and hands over through the balloon
 *    driver (COUNTER_WIDTH_GUEST_*). The kernel counters Vigil reads itself
 *    (BPF maps, /proc and sysfs on a 64-bit host) are 64 bits wide and do
 *    not wrap in practice.
 *  - a reset: the counter restarted (a kernel map entry or a tap recreated,
 *    a guest rebooted). Its reading is then what it counted since.
 *
 * Plausibility rule for a wrap: both readings fit in the counter's width,
 * and the growth across the wrap, cur + 2^width - prev, is below half the
 * counter's range. A counter that wrapped once between two readings a few
 * seconds apart has moved far less than that; a larger apparent growth is a
 * reset from a value that happened to be high. A counter read with a narrow
 * width but seen above 2^width is treated as 64 bits wide (a 64-bit guest). */
#ifndef VIGIL_COUNTER_DELTA_H
#define VIGIL_COUNTER_DELTA_H

#include <stdbool.h>
#include <stdint.h>

#include "vigil.pb-c.h"

#define COUNTER_WIDTH_64 64u
/* Guest event counts (major faults) of a 32-bit guest: unsigned long. */
#define COUNTER_WIDTH_GUEST_EVENTS 32u
/* Guest swap bytes: a 32-bit page count shifted by the 4 KiB page size. */
#define COUNTER_WIDTH_GUEST_PAGE_BYTES 44u

enum counter_step {
	COUNTER_FIRST,  /* no earlier reading: the growth is unknown, 0 */
	COUNTER_NORMAL, /* grew or held: cur - prev */
	COUNTER_WRAP,   /* passed its maximum once: cur + 2^width - prev */
	COUNTER_RESET,  /* went back otherwise: cur, counted since the restart */
};

/* Classifies the step from *prev (NULL: this is the first reading) to cur
 * of a counter width bits wide (1-64; anything else counts as 64) and
 * writes the growth into *delta. A caller for whom a reset counter's
 * reading is not "counted since the restart" (a figure relative to a
 * baseline) uses 0 instead of *delta on COUNTER_RESET. */
enum counter_step counter_delta(const uint64_t *prev, uint64_t cur, unsigned width, uint64_t *delta);

/* "first", "normal", "wrap" or "reset". */
const char *counter_step_name(enum counter_step step);

/* For a counter that started from zero when its sampler began to follow it
 * (*last is then 0): returns the growth since *last and stores cur there. A
 * wrap or reset marks the VM's batch (counters_reset) and is logged at debug
 * level with the VM's name, the counter and detail (e.g. "if=vnet0"; may be
 * NULL). */
uint64_t counter_advance(uint64_t *last, uint64_t cur, unsigned width, Vigil__VmSamples *vm, const char *counter,
			 const char *detail);

#endif
