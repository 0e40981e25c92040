/* Bucket and key rules, "bucket/key" splitting, and S3 timestamps. */
#include "s3_internal.h"
#include "towlion/validate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int bad_bucket(const char *bucket, const char *why)
{
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "invalid bucket name '%s': %s",
	                     bucket, why);
}

int tl_s3_validate_bucket(const char *bucket)
{
	if (!bucket)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "no bucket name given");
	size_t n = strlen(bucket);
	if (n < 3 || n > 63)
		return bad_bucket(bucket, "it must be 3 to 63 characters long");
	for (size_t i = 0; i < n; i++) {
		char c = bucket[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return bad_bucket(bucket, "only lowercase letters, digits, '.' and '-' "
			                          "are allowed");
	}
	char first = bucket[0], last = bucket[n - 1];
	if (first == '.' || first == '-' || last == '.' || last == '-')
		return bad_bucket(bucket, "it must start and end with a letter or a digit");
	if (strstr(bucket, ".."))
		return bad_bucket(bucket, "it must not contain \"..\"");
	if (strstr(bucket, ".-") || strstr(bucket, "-."))
		return bad_bucket(bucket, "a '.' must not be next to a '-'");
	if (tl__str_startswith(bucket, "xn--") || tl__str_startswith(bucket, "sthree-"))
		return bad_bucket(bucket, "the prefixes \"xn--\" and \"sthree-\" are reserved");
	if (tl__str_endswith(bucket, "-s3alias") || tl__str_endswith(bucket, "--ol-s3"))
		return bad_bucket(bucket, "the suffixes \"-s3alias\" and \"--ol-s3\" are reserved");
	unsigned a, b, c, d;
	char tail;
	/* a shape test, not a number read: the checks above leave only digits
	 * between the dots here, so sscanf's signs and spaces cannot occur */
	if (sscanf(bucket, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) == 4)
		return bad_bucket(bucket, "it must not look like an IP address");
	return TL_OK;
}

int tl_s3_validate_key(const char *key)
{
	if (!key || !*key)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "no object key given");
	size_t n = strlen(key);
	if (n > 1024)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "object key too long (%zu bytes, at most 1024)", n);
	if (key[0] == '/')
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "object key '%s' must not start with '/'", key);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "object key contains a control character (0x%02x)", *p);
	/* "." and ".." segments would be removed by URL normalisation and
	 * name another object than the one asked for. */
	const char *seg = key;
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "object key '%s' has a \".\" or \"..\" segment", key);
		if (!slash)
			break;
		seg = slash + 1;
	}
	return TL_OK;
}

int tl__s3_check_names(const char *bucket, const char *key)
{
	int rc = tl_s3_validate_bucket(bucket);
	if (!rc && key)
		rc = tl_s3_validate_key(key);
	return rc;
}

int tl_s3_app_bucket(tl_buf *out, const char *app)
{
	TL__CHECK_ARG(out);
	int rc = tl_validate_app_name(app);
	if (rc)
		return rc;
	tl_buf b = TL_BUF_INIT;
	if ((rc = tl__buf_printf(&b, "%s-uploads", app)) ||
	    (rc = tl_s3_validate_bucket(b.ptr))) {
		tl_buf_dispose(&b);
		return rc;
	}
	tl_buf_dispose(out);
	*out = b;
	return TL_OK;
}

int tl_s3_split(tl_buf *bucket, tl_buf *key, const char *text)
{
	TL__CHECK_ARG(text);
	const char *s = tl__str_startswith(text, "s3://") ? text + 5 : text;
	const char *slash = strchr(s, '/');
	tl_buf b = TL_BUF_INIT, k = TL_BUF_INIT;
	int rc = tl__buf_set(&b, s, slash ? (size_t)(slash - s) : strlen(s));
	if (!rc)
		rc = tl__buf_puts(&k, slash ? slash + 1 : "");
	if (!rc)
		rc = tl_s3_validate_bucket(b.ptr);
	if (!rc && k.size)
		rc = tl_s3_validate_key(k.ptr);
	if (rc) {
		tl_buf_dispose(&b);
		tl_buf_dispose(&k);
		return rc;
	}
	if (bucket) {
		tl_buf_dispose(bucket);
		*bucket = b;
	} else {
		tl_buf_dispose(&b);
	}
	if (key) {
		tl_buf_dispose(key);
		*key = k;
	} else {
		tl_buf_dispose(&k);
	}
	return TL_OK;
}

int tl__s3_parse_time(int64_t *out, const char *text, const char *what)
{
	*out = 0;
	if (!text || !*text)
		return TL_OK; /* not given: unknown */
	size_t n = strlen(text);
	/* ISO 8601 in listings, RFC 7231's IMF-fixdate in Last-Modified */
	if (tl__parse_utc(out, text, n, "%Y-%m-%dT%H:%M:%S%fZ") ||
	    tl__parse_utc(out, text, n, "%a, %d %b %Y %H:%M:%S GMT"))
		return TL_OK;
	*out = 0;
	return tl__error_bad_value(TL_EIO, TL_ERRCLASS_S3, what, text,
	                           "the S3 server's date is neither like 2026-11-30T04:44:44.000Z "
	                           "nor like Mon, 30 Nov 2026 04:44:44 GMT");
}
