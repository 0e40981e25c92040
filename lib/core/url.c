/* A strict parser for scheme://[user[:password]@]host[:port][/path]. */
#include "url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static char *decode(const char *s, size_t n)
{
	char *d = tl__malloc(n + 1);
	if (!d)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			d[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			d[o++] = s[i];
		}
	}
	d[o] = '\0';
	return d;
}

void tl__url_dispose(tl__url *u)
{
	if (!u)
		return;
	free(u->scheme);
	free(u->user);
	tl__free_secret(u->password);
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

static bool unreserved(unsigned char c);

/* A host name or address as a URL holds it (RFC 3986's reg-name without
 * sub-delimiters, which no host name has; an IPv6 address and its zone
 * in brackets): no character that would mean something to whatever the
 * host is handed to next (a header, a libpq conninfo, a Caddyfile). */
static bool host_chars_ok(const char *host, bool bracketed)
{
	for (const unsigned char *p = (const unsigned char *)host; *p; p++)
		if (!unreserved(*p) && *p != '%' && !(bracketed && *p == ':'))
			return false;
	return true;
}

int tl__url_parse(tl__url *out, const char *text, const char *what)
{
	TL__CHECK_ARG(out && text);
	memset(out, 0, sizeof(*out));
	const char *sep = strstr(text, "://");
	if (!sep || sep == text)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "%s: not a URL (expected scheme://host:port)", what);
	tl__url u = {0};
	u.scheme = tl__strndup(text, (size_t)(sep - text));
	if (!u.scheme)
		return TL_ENOMEM;
	for (char *p = u.scheme; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	const char *auth = sep + 3;
	const char *slash = strchr(auth, '/');
	const char *end = slash ? slash : auth + strlen(auth);
	/* The last '@' before the path ends the userinfo (passwords may hold
	 * an unencoded '@' in hand-written URLs). */
	const char *at = NULL;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	const char *hostpart = auth;
	int rc = TL_OK;
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		const char *uend = colon ? colon : at;
		u.user = decode(auth, (size_t)(uend - auth));
		if (colon)
			u.password = decode(colon + 1, (size_t)(at - colon - 1));
		if (!u.user || (colon && !u.password))
			rc = TL_ENOMEM;
		hostpart = at + 1;
	}
	/* The host ends at the path, the query or the fragment
	 * ("postgresql://h:5432?sslmode=require"); only the userinfo before
	 * the last '@' may hold '?' or '#' unencoded. */
	end = hostpart + strcspn(hostpart, "/?#");
	const char *port = NULL;
	if (rc == TL_OK && *hostpart == '[') {
		const char *close = memchr(hostpart, ']', (size_t)(end - hostpart));
		if (!close)
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                   "%s: unclosed '[' in the host", what);
		else {
			u.host = tl__strndup(hostpart + 1, (size_t)(close - hostpart - 1));
			if (close + 1 < end && close[1] == ':')
				port = close + 2;
			else if (close + 1 != end)
				rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
				                   "%s: unexpected text after ']'", what);
		}
	} else if (rc == TL_OK) {
		const char *colon = memchr(hostpart, ':', (size_t)(end - hostpart));
		u.host = tl__strndup(hostpart, (size_t)((colon ? colon : end) - hostpart));
		if (colon)
			port = colon + 1;
	}
	if (rc == TL_OK && !u.host)
		rc = TL_ENOMEM;
	if (rc == TL_OK && !host_chars_ok(u.host, *hostpart == '['))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "%s: the host may hold only letters, digits and \"-._~%%\"%s", what,
		                   *hostpart == '[' ? " (and ':' in brackets)" : "");
	if (rc == TL_OK && !*u.host && strcmp(u.scheme, "unix") != 0)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG, "%s: the host is empty", what);
	if (rc == TL_OK && port) {
		long v = 0;
		const char *p = port;
		for (; p < end && isdigit((unsigned char)*p) && v <= 65535; p++)
			v = v * 10 + (*p - '0');
		if (p != end || p == port || v < 1 || v > 65535)
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                   "%s: the port must be a number from 1 to 65535", what);
		u.port = (int)v;
	}
	if (rc == TL_OK && !(u.path = tl__strdup(end)))
		rc = TL_ENOMEM;
	if (rc) {
		tl__url_dispose(&u);
		return rc;
	}
	*out = u;
	return TL_OK;
}

/* RFC 3986's unreserved set, spelled out: isalnum() depends on the locale. */
static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int encode(tl_buf *out, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int rc;
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			rc = tl__buf_putc(out, (char)*p);
		} else {
			const char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = tl__buf_put(out, e, sizeof(e));
		}
		if (rc)
			return rc;
	}
	return TL_OK;
}

int tl__url_encode(tl_buf *out, const char *s)
{
	return encode(out, s, false);
}

int tl__url_encode_path(tl_buf *out, const char *s)
{
	return encode(out, s, true);
}

int tl__url_put_userinfo(tl_buf *out, const char *scheme, const char *user,
                         const char *password)
{
	int rc = tl__buf_printf(out, "%s://", scheme);
	if (rc == TL_OK)
		rc = tl__url_encode(out, user);
	if (rc == TL_OK)
		rc = tl__buf_putc(out, ':');
	if (rc == TL_OK)
		rc = tl__url_encode(out, password);
	if (rc == TL_OK)
		rc = tl__buf_putc(out, '@');
	return rc;
}
