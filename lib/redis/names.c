/* Users, prefixes and URLs of apps and previews (no connection). */
#include "redis_internal.h"
#include "core/url.h"
#include "towlion/validate.h"

int tl_redis_names(tl_buf *user, tl_buf *prefix, const char *app, uint32_t pr)
{
	int rc = tl_validate_app_name(app);
	if (!rc && pr)
		rc = tl_validate_pr((long long)pr);
	if (rc)
		return rc;
	tl_buf u = TL_BUF_INIT, p = TL_BUF_INIT;
	rc = pr ? tl__buf_printf(&u, "%s-pr-%u", app, pr) : tl__buf_puts(&u, app);
	if (!rc)
		rc = tl__buf_printf(&p, "%s:", u.ptr);
	if (rc) {
		tl_buf_dispose(&u);
		tl_buf_dispose(&p);
		return rc;
	}
	if (user) {
		tl_buf_dispose(user);
		*user = u;
	} else {
		tl_buf_dispose(&u);
	}
	if (prefix) {
		tl_buf_dispose(prefix);
		*prefix = p;
	} else {
		tl_buf_dispose(&p);
	}
	return TL_OK;
}

int tl_redis_url_build(tl_buf *out, const char *user, const char *password,
                       const char *hostport, int db)
{
	TL__CHECK_ARG(out && user && *user && password && *password);
	if (db < 0 || db > 15)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "Redis database %d is not 0..15", db);
	int rc = tl_validate_hostport(hostport);
	if (rc)
		return rc;
	tl_buf b = TL_BUF_INIT;
	rc = tl__buf_puts(&b, "redis://");
	if (!rc)
		rc = tl__url_encode(&b, user);
	if (!rc)
		rc = tl__buf_putc(&b, ':');
	if (!rc)
		rc = tl__url_encode(&b, password);
	if (!rc)
		rc = tl__buf_printf(&b, "@%s/%d", hostport, db);
	if (rc) {
		tl__buf_dispose_secret(&b);
		return rc;
	}
	tl__buf_dispose_secret(out);
	*out = b;
	return TL_OK;
}
