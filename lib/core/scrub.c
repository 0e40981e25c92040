/*
 * Keeping TOWLION_PG_URL's password out of error messages.
 *
 * libpq quotes pieces of a connection string it could not use: a URL
 * whose password holds '/', '@' or ':' is split in the wrong places, and
 * "invalid integer value "s3cr" for connection option "port"" then shows
 * part of the password. Every message that may carry libpq's words about
 * a URL with a password goes through tl__scrub_password() before it
 * becomes an error (the pg and backup modules).
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* The password as written in `url` (URL userinfo or a password= value),
 * to free(); NULL when there is none. */
static char *password_of(const char *url)
{
	const char *scheme = strstr(url, "://");
	if (scheme && (tl__str_startswith(url, "postgresql://") ||
	               tl__str_startswith(url, "postgres://"))) {
		const char *start = scheme + 3;
		/* The last '@', not the first: a password may hold '@' and '/'
		 * (which is exactly what confuses libpq's parser). */
		const char *at = strrchr(start, '@');
		const char *colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
		if (colon && colon + 1 < at)
			return tl__strndup(colon + 1, (size_t)(at - colon - 1));
		const char *q = strstr(start, "password=");
		if (q) {
			q += 9;
			return tl__strndup(q, strcspn(q, "&#"));
		}
		return NULL;
	}
	/* key=value form: password = 'quoted' | word */
	for (const char *p = strstr(url, "password"); p; p = strstr(p + 1, "password")) {
		const char *v = p + 8;
		while (*v == ' ')
			v++;
		if (*v != '=')
			continue;
		v++;
		while (*v == ' ')
			v++;
		if (*v == '\'') {
			v++;
			const char *e = v;
			while (*e && *e != '\'')
				e += (*e == '\\' && e[1]) ? 2 : 1;
			return tl__strndup(v, (size_t)(e - v));
		}
		return tl__strndup(v, strcspn(v, " \t\n"));
	}
	return NULL;
}

static char *percent_decode(const char *s)
{
	char *out = tl__malloc(strlen(s) + 1), *o = out;
	for (; out && *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	if (out)
		*o = '\0';
	return out;
}

/* Replace every occurrence of `needle` in `msg` with "***". */
static void mask_all(char *msg, size_t cap, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return;
	char *p = msg;
	while ((p = memmem(p, strlen(p), needle, nlen)) != NULL) {
		if ((size_t)(p - msg) + 4 > cap)
			break;
		size_t tail = strlen(p + nlen);
		if (nlen >= 3) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + nlen, tail + 1);
		} else {
			/* growing: keep within cap */
			if ((size_t)(p - msg) + 3 + tail + 1 > cap)
				tail = cap - (size_t)(p - msg) - 4;
			memmove(p + 3, p + nlen, tail);
			p[3 + tail] = '\0';
			memcpy(p, "***", 3);
		}
		p += 3;
	}
}

void tl__scrub_password(char *msg, size_t cap, const char *url)
{
	if (!msg || !url || cap < 8)
		return;
	char *pw = password_of(url);
	if (!pw || !*pw) {
		free(pw);
		return;
	}
	char *dec = percent_decode(pw);
	/* Whole password first (as written and decoded), then the pieces a
	 * confused parser may have cut it into. */
	mask_all(msg, cap, pw, strlen(pw));
	if (dec)
		mask_all(msg, cap, dec, strlen(dec));
	const char *cuts = "/@:?#&= ";
	/* Pieces of 3 or more anywhere; shorter ones only inside quotes
	 * (below), so that "nt" does not eat "integer". */
	for (const char *s = pw; *s;) {
		size_t n = strcspn(s, cuts);
		if (n >= 3) {
			char piece[256];
			snprintf(piece, sizeof(piece), "%.*s", (int)(n < 255 ? n : 255), s);
			mask_all(msg, cap, piece, strlen(piece));
		}
		s += n;
		s += strspn(s, cuts);
	}
	/* A quoted value that is any part of the password ("p", "a:b"). */
	for (char *q = strchr(msg, '"'); q;) {
		char *e = strchr(q + 1, '"');
		if (!e)
			break;
		size_t n = (size_t)(e - q - 1);
		int hit = n && (memmem(pw, strlen(pw), q + 1, n) ||
		                (dec && memmem(dec, strlen(dec), q + 1, n)));
		for (const char *s = pw; n && !hit && *s;) {
			size_t k = strcspn(s, cuts);
			hit = k >= 2 && memmem(q + 1, n, s, k);
			s += k;
			s += strspn(s, cuts);
		}
		if (hit) {
			memmove(q + 2, e, strlen(e) + 1);
			q[1] = '*';
			e = q + 2;
		}
		q = strchr(e + 1, '"');
	}
	tl__free_secret(pw);
	tl__free_secret(dec);
}
