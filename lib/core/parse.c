/*
 * Strict numbers from outside: whole numbers, durations and sizes.
 *
 * One grammar for the CLI and the library: ASCII digits with an optional
 * unit, nothing else. No sign (strtoul turns "-1" into 2^64-1), no
 * leading or trailing spaces, no trailing text ("10s\n}" is not 10 s), no
 * empty digits, and overflow is detected digit by digit rather than
 * clamped. The error names the value, quotes it escaped, and says what
 * was expected with an example, units included.
 */
#include "core.h"
#include "towlion/validate.h"

#include <string.h>

int tl__error_bad_input(const char *what, const char *value, const char *why)
{
	return tl__error_bad_value(TL_EINVALID, TL_ERRCLASS_INPUT, what, value, why);
}

int tl__error_bad_value(int code, int klass, const char *what, const char *value,
                        const char *why)
{
	/* Quote at most 80 bytes of the offending value, escaping controls so a
	 * hostile value cannot forge lines in a terminal or log. */
	char shown[4 * 80 + 4];
	size_t o = 0;
	for (size_t i = 0; value[i] && i < 80 && o < sizeof(shown) - 5; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(shown + o, sizeof(shown) - o, "\\x%02x", c);
		else
			shown[o++] = (char)c;
	}
	shown[o] = '\0';
	return tl__error_set(code, klass, "invalid %s \"%s%s\": %s", what, shown,
	                     strlen(value) > 80 ? "..." : "", why);
}

/* Leading digits of *p into *v; false on no digit or overflow. Advances *p. */
static bool digits(uint64_t *v, const char **p, size_t *ndigits)
{
	uint64_t n = 0;
	size_t k = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++, k++) {
		unsigned d = (unsigned)(**p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	if (ndigits)
		*ndigits = k;
	*v = n;
	return k > 0;
}

/* a * b, false on overflow. */
static bool mul(uint64_t *out, uint64_t a, uint64_t b)
{
	if (b && a > UINT64_MAX / b)
		return false;
	*out = a * b;
	return true;
}

static int out_of_range(const char *what, const char *text, uint64_t min, uint64_t max,
                        const char *unit)
{
	char why[128];
	snprintf(why, sizeof(why), "use %llu to %llu%s", (unsigned long long)min,
	         (unsigned long long)max, unit);
	return tl__error_bad_input(what, text, why);
}

int tl_parse_uint(uint64_t *out, const char *text, uint64_t min, uint64_t max, const char *what)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(min <= max);
	if (!what)
		what = "number";
	const char *p = text;
	uint64_t v;
	char why[128];
	snprintf(why, sizeof(why), "expected a whole number from %llu to %llu",
	         (unsigned long long)min, (unsigned long long)max);
	if (!text || !digits(&v, &p, NULL) || *p)
		return tl__error_bad_input(what, text ? text : "", why);
	if (v < min || v > max)
		return tl__error_bad_input(what, text, why);
	*out = v;
	return TL_OK;
}

int tl_parse_duration_ms(uint64_t *out, const char *text, uint64_t bare_unit_ms,
                         uint64_t min_ms, uint64_t max_ms, const char *what)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(min_ms <= max_ms);
	if (!what)
		what = "duration";
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	const char *p = text;
	uint64_t n, ms = 0;
	const char *why = bare_unit_ms == 1000 ? "expected a duration like 10s, 500ms, 2m (a "
	                                         "bare number is seconds)"
	                  : bare_unit_ms == 1  ? "expected a duration like 10s, 500ms, 2m (a "
	                                         "bare number is milliseconds)"
	                                       : "expected a duration like 10s, 500ms, 2m";
	if (!text || !digits(&n, &p, NULL))
		return tl__error_bad_input(what, text ? text : "", why);
	uint64_t unit = 0;
	if (!*p) {
		unit = bare_unit_ms;
	} else {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(p, units[i].name))
				unit = units[i].ms;
	}
	if (!unit)
		return tl__error_bad_input(what, text, why);
	if (!mul(&ms, n, unit) || ms < min_ms || ms > max_ms) {
		/* The range in the largest unit that divides both ends. */
		size_t k = sizeof(units) / sizeof(units[0]) - 1;
		while (k && (min_ms % units[k].ms || max_ms % units[k].ms))
			k--;
		char un[8];
		snprintf(un, sizeof(un), " %s", units[k].name);
		return out_of_range(what, text, min_ms / units[k].ms, max_ms / units[k].ms, un);
	}
	*out = ms;
	return TL_OK;
}

int tl_parse_size(uint64_t *out, const char *text, uint64_t min, uint64_t max, const char *what)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(min <= max);
	if (!what)
		what = "size";
	const char *why = "expected a size like 4096, 512k, 10m or 1.5g (k, m, g, t: powers of "
	                  "1024; a trailing b is allowed)";
	const char *p = text;
	uint64_t whole, frac = 0, scale = 1, mult = 1;
	size_t nfrac = 0;
	if (!text || !digits(&whole, &p, NULL))
		return tl__error_bad_input(what, text ? text : "", why);
	if (*p == '.') {
		p++;
		/* At most 6 decimals: the fraction (< 2^20) times the unit (<= 2^40)
		 * cannot overflow. */
		if (!digits(&frac, &p, &nfrac) || nfrac > 6)
			return tl__error_bad_input(what, text, why);
		for (size_t i = 0; i < nfrac; i++)
			scale *= 10;
	}
	switch (*p) {
	case 'k': case 'K': mult = 1ull << 10; p++; break;
	case 'm': case 'M': mult = 1ull << 20; p++; break;
	case 'g': case 'G': mult = 1ull << 30; p++; break;
	case 't': case 'T': mult = 1ull << 40; p++; break;
	default: break;
	}
	if (*p == 'b' || *p == 'B')
		p++;
	/* A fraction of a byte is no size: "1.5" needs a unit. */
	if (*p || (nfrac && mult == 1))
		return tl__error_bad_input(what, text, why);
	uint64_t v;
	if (!mul(&v, whole, mult) || v + frac * mult / scale < v)
		return out_of_range(what, text, min, max, " bytes");
	v += frac * mult / scale;
	if (v < min || v > max)
		return out_of_range(what, text, min, max, " bytes");
	*out = v;
	return TL_OK;
}

bool tl__parse_digits(uint64_t *out, const char **p)
{
	return digits(out, p, NULL);
}

bool tl__parse_hex_digits(uint64_t *out, const char **p, size_t max_digits)
{
	uint64_t n = 0;
	size_t k = 0;
	for (const char *q = *p;; q++, k++) {
		int d = *q >= '0' && *q <= '9'   ? *q - '0'
		        : *q >= 'a' && *q <= 'f' ? *q - 'a' + 10
		        : *q >= 'A' && *q <= 'F' ? *q - 'A' + 10
		                                 : -1;
		if (d < 0)
			break;
		/* 16 hex digits fill 64 bits: a longer run overflows */
		if (k == max_digits || k == 16)
			return false;
		n = n << 4 | (uint64_t)d;
	}
	if (!k)
		return false;
	*out = n;
	*p += k;
	return true;
}

bool tl__parse_decimal_prefix(double *out, const char **p)
{
	uint64_t whole, frac = 0;
	size_t nfrac = 0;
	const char *q = *p;
	if (!digits(&whole, &q, NULL))
		return false;
	if (*q == '.' && q[1] >= '0' && q[1] <= '9') {
		q++;
		/* beyond 9 decimals nothing we count changes */
		if (!digits(&frac, &q, &nfrac) || nfrac > 9)
			return false;
	}
	double v = (double)whole, scale = 1;
	for (size_t i = 0; i < nfrac; i++)
		scale *= 10;
	*out = v + (double)frac / scale;
	*p = q;
	return true;
}

int tl__parse_decimal(double *out, const char *text, double min, double max, const char *what)
{
	const char *p = text;
	double v;
	char why[128];
	snprintf(why, sizeof(why), "expected a number from %g to %g like 0.5 or 2 (digits, an "
	         "optional point and decimals)", min, max);
	if (!text || !tl__parse_decimal_prefix(&v, &p) || *p || v < min || v > max)
		return tl__error_bad_input(what ? what : "number", text ? text : "", why);
	*out = v;
	return TL_OK;
}

int tl__parse_size(int64_t *out, const char *text)
{
	uint64_t v = 0;
	int rc = tl_parse_size(&v, text, 0, INT64_MAX, "size");
	if (rc == TL_OK)
		*out = (int64_t)v;
	return rc;
}
