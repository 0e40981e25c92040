/*
 * Strict UTC times of a fixed layout: backup names (20261130T044444Z), S3's
 * dates (2026-11-30T04:44:44.000Z, Mon, 30 Nov 2026 04:44:44 GMT) and a
 * certificate's validity (UTCTime, GeneralizedTime). One parser instead of
 * a sscanf per format: "%2d" took spaces and signs, and timegm() quietly
 * turned 31 February into 3 March.
 */
#include "core.h"

#include <string.h>
#include <time.h>

/* Exactly n ASCII digits at s. */
static bool fixed(int *out, const char *s, const char *end, size_t n)
{
	int v = 0;
	if ((size_t)(end - s) < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* The index of the 3-letter name at s in names ("JanFeb..."), or -1. */
static int name3(const char *names, const char *s, const char *end)
{
	if (end - s < 3)
		return -1;
	for (size_t i = 0; names[i]; i += 3)
		if (!memcmp(names + i, s, 3))
			return (int)(i / 3);
	return -1;
}

bool tl__parse_utc(int64_t *out, const char *s, size_t n, const char *layout)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const char days[] = "SunMonTueWedThuFriSat";
	if (!s)
		return false;
	const char *p = s, *end = s + n;
	int year = -1, mon = -1, mday = -1, hour = 0, min = 0, sec = 0, wday = -1, v;
	for (const char *l = layout; *l; l++) {
		if (*l != '%') {
			if (p == end || *p != *l)
				return false;
			p++;
			continue;
		}
		char c = *++l;
		if (c == 'b' || c == 'a') {
			if ((v = name3(c == 'b' ? months : days, p, end)) < 0)
				return false;
			if (c == 'b')
				mon = v;
			else
				wday = v;
			p += 3;
		} else if (c == 'f') {
			if (p < end && *p == '.') {
				const char *d = ++p;
				while (p < end && *p >= '0' && *p <= '9')
					p++;
				if (p == d || p - d > 9)
					return false;
			}
		} else {
			size_t w = c == 'Y' ? 4 : 2;
			if (!fixed(&v, p, end, w))
				return false;
			p += w;
			switch (c) {
			case 'Y': year = v; break;
			case 'y': year = v < 50 ? 2000 + v : 1900 + v; break;
			case 'm': mon = v - 1; break;
			case 'd': mday = v; break;
			case 'H': hour = v; break;
			case 'M': min = v; break;
			case 'S': sec = v; break;
			default: return false; /* a layout this parser does not know */
			}
		}
	}
	if (p != end || year < 0 || mon < 0 || mon > 11 || mday < 1 || mday > 31 || hour > 23 ||
	    min > 59 || sec > 59)
		return false;
	struct tm tm = {.tm_year = year - 1900, .tm_mon = mon, .tm_mday = mday, .tm_hour = hour,
	                .tm_min = min, .tm_sec = sec};
	time_t t = timegm(&tm);
	struct tm back;
	/* the date existed if timegm did not move it (31 February); a day name
	 * given must be that date's */
	if (!gmtime_r(&t, &back) || back.tm_year != year - 1900 || back.tm_mon != mon ||
	    back.tm_mday != mday || (wday >= 0 && back.tm_wday != wday))
		return false;
	*out = (int64_t)t;
	return true;
}
