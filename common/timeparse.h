/* Times and durations as operators type them: the one grammar of every
 * vigilctl option that takes one (--since, --until, --step, --window,
 * --slice, ...) and of the collector's duration settings.
 *
 * Durations
 *   NUMBER UNIT [NUMBER UNIT]...   90s, 15m, 1h30m, 1.5h, 30min, 14d, 2w, 2y
 *   NUMBER                         seconds alone: 90
 *   NUMBER is digits with an optional decimal fraction (1.5, .5). UNIT is
 *   ms, s, m or min (minutes), h, d, w (7 days) or y (365 days); parts add
 *   up in any order. The result is rounded to whole milliseconds and must
 *   be above zero. No signs, spaces or exponents.
 *
 * Times (UTC when no zone is given)
 *   now
 *   DURATION ago: 30m, 2d12h, 1.5h (a unit is needed), or -1h, -90 (the
 *     minus says "ago", so a bare number of seconds is allowed); 0s is now
 *   ISO 8601: a date, optionally a time (T, t or a space between), optional
 *     seconds and fraction, optional zone Z, +hh, +hhmm or +hh:mm:
 *     2026-03-01, 2026-03-01T12:00, 2026-03-01 12:00:00.250+02:00,
 *     2026-03-01T12:30-0130; months, days, hours, minutes and seconds may
 *     have one digit (2026-3-1T9:05)
 *   @SECONDS: Unix seconds, with an optional fraction: @1767225600
 *   SECONDS: a bare number from 100000000 (1973-03-03) on is Unix seconds
 *     too: 1767225600
 * A bare number below 100000000 is refused as ambiguous (is 2026 a year or
 * 2026 seconds ago?): write 2026s or -2026 for a time ago, a date for a
 * year. */
#ifndef VIGIL_TIMEPARSE_H
#define VIGIL_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/* A bare number from this on is Unix seconds. */
#define TIMEPARSE_EPOCH_MIN_S 100000000LL

/* A duration in ms, > 0. 0, or -1. */
int timeparse_duration_ms(const char *text, int64_t *out);

/* A point in time as Unix ms; relative forms are taken against now_ms. 0,
 * or -1 with a message naming the accepted forms in err. */
int timeparse_time_ms(const char *text, int64_t now_ms, int64_t *out, char *err, size_t errlen);

/* "2026-03-01T12:00:00.250Z" (ms shown only when not whole seconds). */
void timeparse_format_iso(char *buf, size_t len, int64_t ms);

/* "1h30m", "14d", "250ms": the shortest exact form. */
void timeparse_format_duration(char *buf, size_t len, int64_t ms);

#endif
