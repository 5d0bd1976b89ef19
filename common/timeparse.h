/* Times and durations as operators type them: ISO 8601 ("2026-03-01",
 * "2026-03-01T12:00:00Z", "2026-03-01 12:00:00.250+02:00"), relative to now
 * ("-1h", "30m": that long ago; "now"), Unix seconds ("@1767225600"), and
 * durations ("90s", "15m", "1h30m", "14d", "2w", "2y"). */
#ifndef VIGIL_TIMEPARSE_H
#define VIGIL_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/* A duration in ms, > 0. Units: ms, s, m, h, d, w, y (365 days); parts may
 * be combined ("1h30m"). A bare number is seconds. 0, or -1. */
int parse_duration_ms(const char *text, int64_t *out);

/* A point in time as Unix ms. Times without a zone are UTC. 0, or -1 with
 * a message naming the accepted forms in err. */
int parse_time_ms(const char *text, int64_t now_ms, int64_t *out, char *err, size_t errlen);

/* "2026-03-01T12:00:00.250Z" (ms shown only when not whole seconds). */
void format_time_iso(char *buf, size_t len, int64_t ms);

/* "1h30m", "14d", "250ms": the shortest exact form. */
void format_duration(char *buf, size_t len, int64_t ms);

#endif
