/*
 * Offsite copies in S3 (TOWLION_BACKUP_REMOTE = s3://bucket/prefix): the
 * backup and its manifest are uploaded, and the copy is checked with a
 * HEAD (size and ETag must match what was sent).
 *
 * (Until the s3 module's implementation is committed, offsite copies
 * fail with TL_EUNSUPPORTED rather than being skipped.) A failed upload or check
 * is a failure of the backup, not a warning.
 */
#include "backup_internal.h"

int tl__bk_remote_enabled(tl_ctx *ctx, unsigned int flags)
{
	const char *r = tl__cfg(ctx, "TOWLION_BACKUP_REMOTE");
	return r && *r && !(flags & TL_BACKUP_NO_REMOTE);
}

int tl__bk_remote_upload(char **url, tl_ctx *ctx, const char *path, const char *file)
{
	return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_BACKUP,
	                     "offsite copy of %s: this build has no S3 client", file);
}

int tl__bk_remote_delete(tl_ctx *ctx, const char *file)
{
	return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_BACKUP,
	                     "deleting the offsite copy of %s: this build has no S3 client", file);
}
