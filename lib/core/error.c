/* The thread-local last error and the names of codes and classes. */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define TL__MSG_MAX 1024

typedef struct {
	tl_error err;
	char message[TL__MSG_MAX];
	char upstream[64];
} tl__error_state;

static _Thread_local tl__error_state tls_error = {
	{TL_OK, TL_ERRCLASS_NONE, "no error", "", 0}, "", ""};

const tl_error *tl_error_last(void)
{
	if (tls_error.err.message == NULL)
		tls_error.err.message = "no error";
	if (tls_error.err.upstream == NULL)
		tls_error.err.upstream = "";
	return &tls_error.err;
}

void tl_error_clear(void)
{
	tls_error.err.code = TL_OK;
	tls_error.err.klass = TL_ERRCLASS_NONE;
	tls_error.err.message = "no error";
	tls_error.err.upstream = "";
	tls_error.err.upstream_code = 0;
}

int tl__error_vset(int code, int klass, const char *fmt, va_list ap)
{
	/* The message may be built from the previous message (prefixing), so
	 * format into a scratch buffer first. */
	char scratch[TL__MSG_MAX];
	vsnprintf(scratch, sizeof(scratch), fmt, ap);
	memcpy(tls_error.message, scratch, sizeof(scratch));
	tls_error.err.code = code;
	tls_error.err.klass = klass;
	tls_error.err.message = tls_error.message;
	tls_error.upstream[0] = '\0';
	tls_error.err.upstream = tls_error.upstream;
	tls_error.err.upstream_code = 0;
	return code;
}

void tl__error_save(tl__error_saved *saved)
{
	const tl_error *e = tl_error_last();
	saved->code = e->code;
	saved->klass = e->klass;
	saved->upstream_code = e->upstream_code;
	snprintf(saved->message, sizeof(saved->message), "%s", e->message);
	snprintf(saved->upstream, sizeof(saved->upstream), "%s", e->upstream);
}

int tl__error_restore(const tl__error_saved *saved)
{
	return tl__error_set_upstream(saved->code, saved->klass, saved->upstream,
	                              saved->upstream_code, "%s", saved->message);
}

int tl__error_set(int code, int klass, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tl__error_vset(code, klass, fmt, ap);
	va_end(ap);
	return code;
}

int tl__error_set_upstream(int code, int klass, const char *upstream,
                           long upstream_code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tl__error_vset(code, klass, fmt, ap);
	va_end(ap);
	snprintf(tls_error.upstream, sizeof(tls_error.upstream), "%s",
	         upstream ? upstream : "");
	tls_error.err.upstream_code = upstream_code;
	return code;
}

int tl__errno_to_result(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return TL_ENOTFOUND;
	case EEXIST:
		return TL_EEXISTS;
	case EACCES:
	case EPERM:
		return TL_EAUTH;
	case ENOMEM:
		return TL_ENOMEM;
	case ETIMEDOUT:
		return TL_ETIMEOUT;
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return TL_EUNAVAILABLE;
	case EINVAL:
	case ENAMETOOLONG:
		return TL_EINVALID;
	default:
		return TL_EIO;
	}
}

int tl__error_os(int code, int err, const char *fmt, ...)
{
	char what[TL__MSG_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (code == 0)
		code = tl__errno_to_result(err);
	char num[16];
	snprintf(num, sizeof(num), "%d", err);
	return tl__error_set_upstream(code, TL_ERRCLASS_OS, num, err, "%s: %s", what,
	                              strerror(err));
}

int tl__error_oom(void)
{
	return tl__error_set(TL_ENOMEM, TL_ERRCLASS_OS, "out of memory");
}

void tl__error_prefix(const char *fmt, ...)
{
	char prefix[TL__MSG_MAX / 2];
	char upstream[sizeof(tls_error.upstream)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	long up = tls_error.err.upstream_code;
	memcpy(upstream, tls_error.upstream, sizeof(upstream));
	tl__error_set(tls_error.err.code, tls_error.err.klass, "%s: %s", prefix,
	              tl_error_last()->message);
	memcpy(tls_error.upstream, upstream, sizeof(upstream));
	tls_error.err.upstream_code = up;
}

const char *tl_strerror(int code)
{
	switch (code) {
	case TL_OK: return "ok";
	case TL_ERROR: return "failed";
	case TL_EINVALID: return "invalid argument";
	case TL_ENOTFOUND: return "not found";
	case TL_EEXISTS: return "already exists";
	case TL_ECONFLICT: return "conflict";
	case TL_EAUTH: return "authentication or permission refused";
	case TL_ETIMEOUT: return "timed out";
	case TL_EUNAVAILABLE: return "service unavailable";
	case TL_EIO: return "input/output error";
	case TL_ELOCKED: return "locked by another operation";
	case TL_EUSER: return "cancelled";
	case TL_ENOMEM: return "out of memory";
	case TL_EUNHEALTHY: return "release unhealthy";
	case TL_EUNSUPPORTED: return "not supported";
	default: return "unknown error code";
	}
}

const char *tl_errclass_name(int klass)
{
	static const char *const names[] = {
		"none", "os", "config", "input", "http", "docker", "compose", "postgres",
		"caddy", "redis", "s3", "ssh", "github", "process", "deploy", "backup",
		"lock", "curl"};
	if (klass < 0 || (size_t)klass >= TL__ARRAY_SIZE(names))
		return "unknown";
	return names[klass];
}
