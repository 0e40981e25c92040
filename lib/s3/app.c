/* Storage of an app: its uploads bucket "<app>-uploads", its own user
 * "towlion-app-<app>" whose policy reaches that bucket only, and the S3_*
 * keys of its env file. The platform's keys never go into an app's env.
 *
 * Keys and crashes: a key is created before the env file is written and
 * the old key is deleted after it, so the app always has a working key on
 * disk. A kill -9 in between leaves one extra key of the app's own user
 * (it reaches nothing more than the app's key does); the next create or
 * rotate deletes every key of the user that the env file does not hold. */
#include "s3_internal.h"
#include "core/appenv.h"
#include "towlion/app.h"

#include <string.h>

typedef struct {
	tl_buf bucket, user, path;
	const char *endpoint; /* what apps put in S3_ENDPOINT */
} app_names;

static void names_dispose(app_names *n)
{
	tl_buf_dispose(&n->bucket);
	tl_buf_dispose(&n->user);
	tl_buf_dispose(&n->path);
}

/* A dry run only names things: it needs no user API (and asks none). */
static int names_get(app_names *n, tl_s3 *s3, const char *app, unsigned int flags)
{
	memset(n, 0, sizeof(*n));
	int rc = tl_s3_app_bucket(&n->bucket, app);
	if (!rc)
		rc = tl__s3_app_user(&n->user, app);
	if (!rc)
		rc = tl_app_env_path(&n->path, s3->ctx, app);
	/* Apps reach the storage from their containers, maybe by another
	 * address than the platform does. */
	n->endpoint = tl__cfg(s3->ctx, "TOWLION_S3_APP_ENDPOINT");
	if (!rc && *n->endpoint && !tl__str_startswith(n->endpoint, "http://") &&
	    !tl__str_startswith(n->endpoint, "https://"))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "TOWLION_S3_APP_ENDPOINT must be an http(s):// URL");
	if (!*n->endpoint)
		n->endpoint = s3->endpoint;
	if (!rc && !(flags & TL_S3_DRY_RUN))
		rc = tl__s3_admin_api_check(s3->ctx);
	if (rc)
		names_dispose(n);
	return rc;
}

/* Make the env file hold a key of the app's user. With keep_current, a
 * key the env file holds and the user still has is kept (create is
 * idempotent); otherwise a new key replaces it (rotation). */
static int install_key(tl_buf *access_out, tl_s3 *s3, const app_names *n, bool keep_current)
{
	const char *user = n->user.ptr;
	tl_buf cur = TL_BUF_INIT, access = TL_BUF_INIT, secret = TL_BUF_INIT;
	char **keys = NULL;
	int rc = tl__appenv_get(&cur, n->path.ptr, "S3_ACCESS_KEY");
	if (rc == TL_ENOTFOUND)
		rc = TL_OK;
	if (!rc)
		rc = tl__s3_user_keys(&keys, s3, user);
	bool has_cur = !rc && cur.size && tl__strv_contains(keys, cur.ptr);
	/* Leftovers of an interrupted create or rotate. */
	for (size_t i = 0; !rc && keys[i]; i++)
		if (!has_cur || strcmp(keys[i], cur.ptr))
			rc = tl__s3_user_key_delete(s3, user, keys[i]);
	const char *k[] = {"S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY"};
	if (!rc && keep_current && has_cur) {
		rc = tl__appenv_set(s3->ctx, n->path.ptr, k, (const char *[]){n->endpoint,
		                    n->bucket.ptr}, 2);
		if (!rc && access_out)
			rc = tl__buf_set(access_out, cur.ptr, cur.size);
		goto out;
	}
	if (!rc)
		rc = tl__s3_user_key_create(&access, &secret, s3, user);
	if (!rc) {
		const char *v[] = {n->endpoint, n->bucket.ptr, access.ptr, secret.ptr};
		rc = tl__appenv_set(s3->ctx, n->path.ptr, k, v, 4);
		if (rc) /* the app keeps its old key; do not leave the new one */
			tl__s3_user_key_delete(s3, user, access.ptr);
	}
	/* The env file holds the new key: the old one goes. */
	if (!rc && has_cur && (rc = tl__s3_user_key_delete(s3, user, cur.ptr)))
		tl__error_prefix("the new key is in %s, but the old key %s still works: run "
		                 "`towlion s3 app rotate` again", n->path.ptr, cur.ptr);
	if (!rc && access_out)
		rc = tl__buf_set(access_out, access.ptr, access.size);
out:
	tl__strv_free(keys);
	tl_buf_dispose(&cur);
	tl_buf_dispose(&access);
	tl__buf_dispose_secret(&secret);
	return rc;
}

int tl_s3_app_create(tl_buf *bucket, tl_buf *env_path, tl_s3 *s3, const char *app,
                     unsigned int flags)
{
	TL__CHECK_ARG(s3 && (flags & ~(TL_S3_DRY_RUN | TL_S3_REGISTERED_ONLY)) == 0);
	if (flags & TL_S3_REGISTERED_ONLY) {
		int rc = tl__app_require_registered(s3->ctx, app, "bucket", "--standalone");
		if (rc)
			return rc;
	}
	flags &= ~TL_S3_REGISTERED_ONLY;
	app_names n;
	int rc = names_get(&n, s3, app, flags);
	if (rc)
		return rc;
	if (!(flags & TL_S3_DRY_RUN)) {
		rc = tl_s3_bucket_create(s3, n.bucket.ptr);
		if (!rc)
			rc = tl__s3_user_ensure(s3, n.user.ptr, n.bucket.ptr);
		if (!rc)
			rc = install_key(NULL, s3, &n, true);
	}
	if (!rc && bucket)
		rc = tl__buf_set(bucket, n.bucket.ptr, n.bucket.size);
	if (!rc && env_path)
		rc = tl__buf_set(env_path, n.path.ptr, n.path.size);
	names_dispose(&n);
	return rc;
}

int tl_s3_app_rotate(tl_buf *access_key, tl_s3 *s3, const char *app, unsigned int flags)
{
	TL__CHECK_ARG(s3 && (flags & ~TL_S3_DRY_RUN) == 0);
	app_names n;
	int rc = names_get(&n, s3, app, flags);
	if (rc)
		return rc;
	char **keys = NULL;
	/* Rotation needs the user: an app never created gets a clear error. */
	if (!(flags & TL_S3_DRY_RUN))
		rc = tl__s3_user_keys(&keys, s3, n.user.ptr);
	tl__strv_free(keys);
	if (rc == TL_ENOTFOUND)
		tl__error_set(rc, TL_ERRCLASS_INPUT,
		              "%s has no object storage user (%s): run `towlion s3 app create %s`",
		              app, n.user.ptr, app);
	if (!rc && !(flags & TL_S3_DRY_RUN))
		rc = install_key(access_key, s3, &n, false);
	names_dispose(&n);
	return rc;
}

int tl_s3_app_drop(tl_s3 *s3, const char *app, unsigned int flags)
{
	TL__CHECK_ARG(s3 && (flags & ~TL_S3_DRY_RUN) == 0);
	app_names n;
	int rc = names_get(&n, s3, app, flags);
	if (rc || (flags & TL_S3_DRY_RUN)) {
		if (!rc)
			names_dispose(&n);
		return rc;
	}
	rc = tl_s3_user_delete(s3, n.user.ptr);
	/* The keys in the env file are dead now (or never were the app's). */
	const char *k[] = {"S3_ACCESS_KEY", "S3_SECRET_KEY"};
	if (rc == TL_OK || rc == TL_ENOTFOUND) {
		int urc = tl__appenv_unset(s3->ctx, n.path.ptr, k, 2);
		if (urc)
			rc = urc;
	}
	names_dispose(&n);
	return rc;
}
