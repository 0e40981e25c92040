/* Storage of an app: its uploads bucket and the S3_* keys of its env
 * file. The platform has one set of keys (apps share them; the harness S3
 * and a single MinIO root user cannot issue per-app keys). */
#include "s3_internal.h"
#include "core/appenv.h"
#include "towlion/pg.h"

#include <string.h>

int tl_s3_app_create(tl_buf *bucket, tl_buf *env_path, tl_s3 *s3, const char *app,
                     unsigned int flags)
{
	TL__CHECK_ARG(s3 && (flags & ~TL_S3_DRY_RUN) == 0);
	tl_buf b = TL_BUF_INIT, path = TL_BUF_INIT;
	int rc = tl_s3_app_bucket(&b, app);
	if (!rc)
		rc = tl_app_env_path(&path, s3->ctx, app);
	/* Apps reach the storage from their containers, maybe by another
	 * address than the platform does. */
	const char *endpoint = tl__cfg(s3->ctx, "TOWLION_S3_APP_ENDPOINT");
	if (!rc && *endpoint && !tl__str_startswith(endpoint, "http://") &&
	    !tl__str_startswith(endpoint, "https://"))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "TOWLION_S3_APP_ENDPOINT must be an http(s):// URL");
	if (!*endpoint)
		endpoint = s3->endpoint;
	if (!rc && !(flags & TL_S3_DRY_RUN)) {
		rc = tl_s3_bucket_create(s3, b.ptr);
		const char *secret = strchr(s3->userpwd, ':') + 1;
		char *access = tl__strndup(s3->userpwd, (size_t)(secret - 1 - s3->userpwd));
		const char *keys[] = {"S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY"};
		const char *values[] = {endpoint, b.ptr, access, secret};
		if (!rc && !access)
			rc = TL_ENOMEM;
		if (!rc)
			rc = tl__appenv_set(s3->ctx, path.ptr, keys, values, 4);
		tl__free_secret(access);
	}
	if (!rc && bucket) {
		tl_buf_dispose(bucket);
		*bucket = b;
		b = (tl_buf)TL_BUF_INIT;
	}
	if (!rc && env_path) {
		tl_buf_dispose(env_path);
		*env_path = path;
		path = (tl_buf)TL_BUF_INIT;
	}
	tl_buf_dispose(&b);
	tl_buf_dispose(&path);
	return rc;
}
