/* Offsite backups' own keys: the user "towlion-backup", whose policy
 * reaches only the bucket of TOWLION_BACKUP_REMOTE, and a client built
 * from its keys. The platform's keys are never used for backups, so an
 * attacker holding an app's keys or the backup keys reaches one bucket. */
#include "s3_internal.h"
#include "core/appenv.h"

#include <stdlib.h>
#include <string.h>

#define BACKUP_USER "towlion-backup"
#define KEY_ACCESS "TOWLION_BACKUP_S3_ACCESS_KEY"
#define KEY_SECRET "TOWLION_BACKUP_S3_SECRET_KEY"

static char *keys_path(tl_ctx *ctx)
{
	return tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "backup-s3.env");
}

int tl_s3_backup_keys_create(tl_buf *path, tl_s3 *s3, unsigned int flags)
{
	TL__CHECK_ARG(s3 && (flags & ~TL_S3_DRY_RUN) == 0);
	const char *remote = tl__cfg(s3->ctx, "TOWLION_BACKUP_REMOTE");
	if (!tl__str_startswith(remote, "s3://"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "set TOWLION_BACKUP_REMOTE (s3://bucket/prefix) first: the "
		                     "backup keys reach that bucket only");
	tl_buf bucket = TL_BUF_INIT, access = TL_BUF_INIT, secret = TL_BUF_INIT;
	char **keys = NULL;
	char *file = keys_path(s3->ctx);
	int rc = file ? tl_s3_split(&bucket, NULL, remote) : TL_ENOMEM;
	if (rc == TL_EINVALID)
		tl__error_prefix("TOWLION_BACKUP_REMOTE");
	if (!rc && !(flags & TL_S3_DRY_RUN))
		rc = tl__s3_admin_api_check(s3->ctx);
	if (!rc && !(flags & TL_S3_DRY_RUN)) {
		rc = tl_s3_bucket_create(s3, bucket.ptr);
		if (!rc)
			rc = tl__s3_user_ensure(s3, BACKUP_USER, bucket.ptr);
		if (!rc)
			rc = tl__s3_user_key_create(&access, &secret, s3, BACKUP_USER);
		const char *k[] = {KEY_ACCESS, KEY_SECRET};
		const char *v[] = {access.ptr, secret.ptr};
		if (!rc && (rc = tl__appenv_set(s3->ctx, file, k, v, 2)))
			tl__s3_user_key_delete(s3, BACKUP_USER, access.ptr);
		/* The file holds the new key; every other key of the user goes
		 * (the previous one, or one left by an interrupted run). */
		if (!rc)
			rc = tl__s3_user_keys(&keys, s3, BACKUP_USER);
		for (size_t i = 0; !rc && keys[i]; i++)
			if (strcmp(keys[i], access.ptr))
				rc = tl__s3_user_key_delete(s3, BACKUP_USER, keys[i]);
	}
	if (!rc)
		rc = tl__step(s3->ctx, "s3.backup-keys", BACKUP_USER, "%s %s for s3://%s",
		              flags & TL_S3_DRY_RUN ? "would write" : "wrote", file, bucket.ptr);
	if (!rc && path)
		rc = tl__buf_set(path, file, strlen(file));
	tl__strv_free(keys);
	free(file);
	tl_buf_dispose(&bucket);
	tl_buf_dispose(&access);
	tl__buf_dispose_secret(&secret);
	return rc;
}

int tl_s3_new_backup(tl_s3 **out, tl_ctx *ctx)
{
	TL__CHECK_ARG(out && ctx);
	tl_buf access = TL_BUF_INIT, secret = TL_BUF_INIT;
	int rc = tl__buf_puts(&access, tl__cfg(ctx, KEY_ACCESS));
	if (!rc)
		rc = tl__buf_puts(&secret, tl__cfg(ctx, KEY_SECRET));
	char *file = keys_path(ctx);
	if (!rc && !file)
		rc = TL_ENOMEM;
	if (!rc && (!access.size || !secret.size)) {
		int a = tl__appenv_get(&access, file, KEY_ACCESS);
		int s = a ? a : tl__appenv_get(&secret, file, KEY_SECRET);
		if (a == TL_ENOTFOUND || s == TL_ENOTFOUND || (!a && !s && (!access.size || !secret.size)))
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                   "offsite backups need keys of their own (the platform's "
			                   "are never used): run `towlion s3 backup-keys`, or set "
			                   KEY_ACCESS " and " KEY_SECRET " (%s has none)",
			                   file);
		else if (a || s)
			rc = a ? a : s;
	}
	tl_s3_options o = TL_S3_OPTIONS_INIT;
	o.access_key = access.ptr;
	o.secret_key = secret.ptr;
	if (!rc)
		rc = tl_s3_new(out, ctx, &o);
	free(file);
	tl_buf_dispose(&access);
	tl__buf_dispose_secret(&secret);
	return rc;
}
