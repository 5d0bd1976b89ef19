#include "timeparse.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct unit {
	const char *name;
	int64_t ms;
};

#define MS_S 1000LL
#define MS_M (60 * MS_S)
#define MS_H (60 * MS_M)
#define MS_D (24 * MS_H)
#define MS_W (7 * MS_D)
#define MS_Y (365 * MS_D)

/* A unit's name must not run on into more letters, so "ms" is never read
 * as "m" then "s", nor "min" as "m" then "in". */
static const struct unit units[] = {
	{ "ms", 1 },   { "s", MS_S }, { "min", MS_M }, { "m", MS_M }, { "h", MS_H },
	{ "d", MS_D }, { "w", MS_W }, { "y", MS_Y },   { NULL, 0 },
};
static const struct unit *const seconds = &units[1];

/* Past this a duration or a time is refused (about 146 million years), so
 * taking a duration from a time stays within int64. */
#define TIME_MAX_MS (INT64_MAX / 2)

static const struct unit *unit_at(const char *p, size_t *len)
{
	for (const struct unit *u = units; u->name; u++) {
		size_t n = strlen(u->name);
		if (strncmp(p, u->name, n) == 0 && !isalpha((unsigned char)p[n])) {
			*len = n;
			return u;
		}
	}
	return NULL;
}

/* Digits with an optional decimal fraction ("15", "1.5", ".5"): the value
 * in *v and the end, or NULL when there is no digit. */
static const char *read_number(const char *p, long double *v)
{
	long double x = 0, scale = 0.1L;
	int digits = 0;
	for (; isdigit((unsigned char)*p); p++, digits++)
		x = x * 10 + (*p - '0');
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++, digits++, scale /= 10)
			x += (*p - '0') * scale;
	if (!digits)
		return NULL;
	*v = x;
	return p;
}

/* The duration grammar of timeparse.h, zero allowed. *with_unit says
 * whether the text had a unit (else it is a bare number of seconds). 0, or
 * -1. */
static int read_duration(const char *text, int64_t *out, int *with_unit)
{
	const char *p = text;
	long double total = 0;
	*with_unit = 0;
	if (!*p)
		return -1;
	while (*p) {
		long double v;
		const char *end = read_number(p, &v);
		if (!end)
			return -1;
		size_t ulen = 0;
		const struct unit *u = *end ? unit_at(end, &ulen) : seconds;
		if (!u)
			return -1;
		if (!*end && p != text)
			return -1; /* "1h30": a bare number must stand alone */
		*with_unit |= *end != '\0';
		total += v * (long double)u->ms;
		if (total > (long double)TIME_MAX_MS)
			return -1;
		p = end + ulen;
	}
	*out = (int64_t)llroundl(total);
	return 0;
}

int timeparse_duration_ms(const char *text, int64_t *out)
{
	int64_t d;
	int with_unit;
	if (!text || read_duration(text, &d, &with_unit) < 0 || d <= 0)
		return -1;
	*out = d;
	return 0;
}

/* "+hh:mm", "-hhmm", "+hh" or "Z" at p; seconds east of UTC. */
static int parse_zone(const char *p, long *east)
{
	if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
		*east = 0;
		return 0;
	}
	if ((*p != '+' && *p != '-') || !isdigit((unsigned char)p[1]))
		return -1;
	int sign = *p == '-' ? -1 : 1, hh = 0, mm = 0;
	char tail;
	if (sscanf(p + 1, "%2d:%2d%c", &hh, &mm, &tail) == 2 || sscanf(p + 1, "%2d%2d%c", &hh, &mm, &tail) == 2 ||
	    (strlen(p + 1) == 2 && sscanf(p + 1, "%2d", &hh) == 1)) {
		if (hh > 23 || mm > 59)
			return -1;
		*east = sign * (hh * 3600L + mm * 60L);
		return 0;
	}
	return -1;
}

/* min_digits to max_digits decimal digits at *p, which moves past them. */
static int read_int(const char **p, int min_digits, int max_digits, int *out)
{
	int n = 0, v = 0;
	for (; n < max_digits && isdigit((unsigned char)(*p)[n]); n++)
		v = v * 10 + ((*p)[n] - '0');
	if (n < min_digits)
		return -1;
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

static int parse_iso(const char *text, int64_t *out)
{
	struct tm tm = { 0 };
	int ms = 0;
	const char *p = text;
	if (read_int(&p, 4, 4, &tm.tm_year) < 0 || *p++ != '-' || read_int(&p, 1, 2, &tm.tm_mon) < 0 ||
	    *p++ != '-' || read_int(&p, 1, 2, &tm.tm_mday) < 0)
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (read_int(&p, 1, 2, &tm.tm_hour) < 0 || *p++ != ':' || read_int(&p, 1, 2, &tm.tm_min) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if (read_int(&p, 1, 2, &tm.tm_sec) < 0)
				return -1;
			if (*p == '.') {
				int digits = 0;
				for (p++; isdigit((unsigned char)*p); p++, digits++)
					if (digits < 3)
						ms = ms * 10 + (*p - '0');
				if (digits == 0)
					return -1;
				for (; digits < 3; digits++)
					ms *= 10;
			}
		}
	}
	long east = 0;
	if (*p && parse_zone(p, &east) < 0)
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > days_in_month(tm.tm_year, tm.tm_mon) ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = ((int64_t)t - east) * 1000 + ms;
	return 0;
}

/* Unix seconds with an optional fraction, as ms. 1: text is a number but
 * not a time (too large); -1: not a number. */
static int parse_epoch(const char *text, int64_t *out, long double *seconds_out)
{
	long double s;
	const char *end = read_number(text, &s);
	if (!end || *end)
		return -1;
	*seconds_out = s;
	if (s * 1000 > (long double)TIME_MAX_MS)
		return 1;
	*out = (int64_t)llroundl(s * 1000);
	return 0;
}

int timeparse_time_ms(const char *text, int64_t now_ms, int64_t *out, char *err, size_t errlen)
{
	int64_t d;
	int with_unit;
	long double s;
	if (!text || !*text)
		goto bad;
	if (strcmp(text, "now") == 0) {
		*out = now_ms;
		return 0;
	}
	if (text[0] == '@') {
		if (parse_epoch(text + 1, out, &s) != 0)
			goto bad;
		return 0;
	}
	/* "-90": the minus says "ago", so a bare number is seconds. */
	if (text[0] == '-') {
		if (read_duration(text + 1, &d, &with_unit) < 0)
			goto bad;
		*out = now_ms - d;
		return 0;
	}
	if (parse_iso(text, out) == 0)
		return 0;
	switch (parse_epoch(text, out, &s)) {
	case 0:
		if (s >= (long double)TIMEPARSE_EPOCH_MIN_S)
			return 0;
		snprintf(err, errlen,
			 "'%s' is ambiguous: a bare number is Unix seconds only from %lld (1973) on; for a time "
			 "ago give a unit (%ss) or a minus (-%s), for a date use ISO 8601 (2026-03-01)",
			 text, TIMEPARSE_EPOCH_MIN_S, text, text);
		return -1;
	case 1:
		goto bad;
	default:
		break;
	}
	/* "30m": that long ago. A bare number never gets here. */
	if (read_duration(text, &d, &with_unit) == 0 && with_unit) {
		*out = now_ms - d;
		return 0;
	}
bad:
	snprintf(err, errlen,
		 "'%s' is not a time: use ISO 8601 (2026-03-01, 2026-03-01T12:00:00Z, ...+02:00), "
		 "a time ago (-1h, 30m, 1.5h, 2d12h), now, or Unix seconds (@1767225600)",
		 text ? text : "");
	return -1;
}

void timeparse_format_iso(char *buf, size_t len, int64_t ms)
{
	int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int frac = (int)(ms - sec * 1000);
	time_t s = (time_t)sec;
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac)
		snprintf(buf + n, len - n, ".%03dZ", frac);
	else
		snprintf(buf + n, len - n, "Z");
}

void timeparse_format_duration(char *buf, size_t len, int64_t ms)
{
	/* d h m s ms; years only when exact. */
	static const struct unit parts[] = { { "d", MS_D }, { "h", MS_H }, { "m", MS_M }, { "s", MS_S }, { "ms", 1 } };
	size_t used = 0;
	buf[0] = '\0';
	if (ms <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	if (ms % MS_Y == 0) {
		snprintf(buf, len, "%lldy", (long long)(ms / MS_Y));
		return;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && used < len; i++) {
		const struct unit *u = &parts[i];
		if (ms >= u->ms) {
			int w = snprintf(buf + used, len - used, "%lld%s", (long long)(ms / u->ms), u->name);
			if (w < 0)
				return;
			used += (size_t)w;
			ms %= u->ms;
		}
	}
}
