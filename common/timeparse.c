#include "timeparse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct unit {
	const char *name;
	int64_t ms;
};

/* Longest names first so "ms" is not read as "m" then "s". */
static const struct unit units[] = {
	{ "ms", 1 },	     { "s", 1000 },	    { "m", 60000 },	       { "h", 3600000 },
	{ "d", 86400000 },   { "w", 604800000 },    { "y", 31536000000LL },  { NULL, 0 },
};

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

int parse_duration_ms(const char *text, int64_t *out)
{
	const char *p = text;
	int64_t total = 0;
	if (!p || !isdigit((unsigned char)*p))
		return -1;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return -1;
		char *end;
		long long n = strtoll(p, &end, 10);
		if (n < 0 || n > 1000000000LL)
			return -1;
		size_t ulen = 0;
		const struct unit *u = *end ? unit_at(end, &ulen) : &units[1];
		if (!u)
			return -1;
		if (!*end && p != text)
			return -1; /* "1h30": the bare number must stand alone */
		total += n * u->ms;
		p = end + ulen;
	}
	if (total <= 0)
		return -1;
	*out = total;
	return 0;
}

/* "+hh:mm", "-hhmm", "+hh" or "Z" at p; seconds east of UTC. */
static int parse_zone(const char *p, long *east)
{
	if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
		*east = 0;
		return 0;
	}
	if (*p != '+' && *p != '-')
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

static int parse_iso(const char *text, int64_t *out)
{
	struct tm tm = { 0 };
	int ms = 0, used = 0;
	if (sscanf(text, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &used) != 3 || used != 10)
		return -1;
	const char *p = text + used;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		int n = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &n) != 2 || n != 5)
			return -1;
		p += 1 + n;
		if (*p == ':') {
			if (sscanf(p + 1, "%2d%n", &tm.tm_sec, &n) != 1 || n != 2)
				return -1;
			p += 1 + n;
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
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = ((int64_t)t - east) * 1000 + ms;
	return 0;
}

int parse_time_ms(const char *text, int64_t now_ms, int64_t *out, char *err, size_t errlen)
{
	int64_t d;
	if (!text || !*text)
		goto bad;
	if (strcmp(text, "now") == 0) {
		*out = now_ms;
		return 0;
	}
	if (text[0] == '@') {
		char *end;
		long long s = strtoll(text + 1, &end, 10);
		if (end == text + 1 || *end || s < 0)
			goto bad;
		*out = (int64_t)s * 1000;
		return 0;
	}
	if (text[0] == '-' && parse_duration_ms(text + 1, &d) == 0) {
		*out = now_ms - d;
		return 0;
	}
	if (parse_iso(text, out) == 0)
		return 0;
	/* "30m": that long ago. Checked after ISO, which starts with digits too. */
	if (parse_duration_ms(text, &d) == 0 && !isdigit((unsigned char)text[strlen(text) - 1])) {
		*out = now_ms - d;
		return 0;
	}
bad:
	snprintf(err, errlen,
		 "'%s' is not a time: use ISO 8601 (2026-03-01, 2026-03-01T12:00:00Z, ...+02:00), "
		 "a time ago (-1h, 30m, 2d), now, or @UNIX_SECONDS",
		 text ? text : "");
	return -1;
}

void format_time_iso(char *buf, size_t len, int64_t ms)
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

void format_duration(char *buf, size_t len, int64_t ms)
{
	size_t used = 0;
	buf[0] = '\0';
	if (ms <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	static const int order[] = { 4, 3, 2, 1, 0 }; /* d h m s ms; w and y only if exact */
	if (ms % units[6].ms == 0) {
		snprintf(buf, len, "%lldy", (long long)(ms / units[6].ms));
		return;
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && used < len; i++) {
		const struct unit *u = &units[order[i]];
		if (ms >= u->ms) {
			int w = snprintf(buf + used, len - used, "%lld%s", (long long)(ms / u->ms), u->name);
			if (w < 0)
				return;
			used += (size_t)w;
			ms %= u->ms;
		}
	}
}
