/* Fuzz the service URL parser (TOWLION_PG_URL, _REDIS_URL, S3 and Caddy
 * endpoints, alert webhooks): any text either parses into parts that say
 * no more than the text did (host of letters, digits, "-._~%" and ':' in
 * brackets, port 0 or 1..65535, path from the '/', '?' or '#' after the
 * host) or is refused; the password never appears in the message of a
 * refusal; and percent-encoding round-trips through the
 * parser: user and password put back with tl__url_put_userinfo() come out
 * as they went in. */
#include "core/url.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_encoded(const tl_buf *b, const char *s)
{
	/* only unreserved bytes and %XX, and exactly one piece per input byte */
	size_t k = 0, n = 0;
	for (; b->ptr && k < b->size; n++) {
		unsigned char c = (unsigned char)b->ptr[k];
		if (c == '%')
			k += 3;
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		         c == '-' || c == '.' || c == '_' || c == '~')
			k++;
		else
			abort();
	}
	if (k != b->size || n != strlen(s))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	tl__url u;
	if (tl__url_parse(&u, text, "TOWLION_FUZZ_URL") == TL_OK) {
		if (!u.scheme || !u.host || !u.path || u.port < 0 || u.port > 65535)
			abort();
		if (u.host[strcspn(u.host, "/@?# \t\r\n\"'<>\\{};")])
			abort();
		if (*u.path && (!strchr("/?#", *u.path) || !strstr(text, u.path)))
			abort();
		if (!*u.host && strcmp(u.scheme, "unix"))
			abort();
		/* user and password survive encoding and parsing again */
		if (u.user && *u.host && !strchr(u.host, ':')) {
			tl_buf again = TL_BUF_INIT;
			tl__url_put_userinfo(&again, "x", u.user, u.password ? u.password : "");
			tl__buf_printf(&again, "%s/", u.host);
			tl__url back;
			if (tl__url_parse(&back, again.ptr, "again") != TL_OK)
				abort();
			if (strcmp(back.user, u.user) ||
			    strcmp(back.password, u.password ? u.password : "") ||
			    strcmp(back.host, u.host))
				abort();
			tl__url_dispose(&back);
			tl_buf_dispose(&again);
		}
		tl__url_dispose(&u);
	} else {
		/* a refusal names the key, never a password */
		const char *msg = tl_error_last()->message;
		const char *at = strrchr(text, '@'), *sep = strstr(text, "://");
		if (!strstr(msg, "TOWLION_FUZZ_URL"))
			abort();
		if (sep && at && at > sep) {
			const char *colon = memchr(sep + 3, ':', (size_t)(at - sep - 3));
			if (colon && at - colon > 8) {
				char *pw = strndup(colon + 1, (size_t)(at - colon - 1));
				if (!strchr(pw, '/') && strstr(msg, pw))
					abort();
				free(pw);
			}
		}
	}
	/* encoding any text gives only unreserved bytes and %XX */
	tl_buf enc = TL_BUF_INIT;
	tl__url_encode(&enc, text);
	check_encoded(&enc, text);
	tl_buf_dispose(&enc);
	free(text);
	return 0;
}
