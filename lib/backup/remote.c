/*
 * Offsite copies in S3 (TOWLION_BACKUP_REMOTE = s3://bucket/prefix): the
 * backup and its manifest are uploaded, and the copy is checked with a
 * HEAD (size and ETag must match what was sent). A failed upload or check
 * is a failure of the backup, not a warning.
 */
#include "backup_internal.h"
#include "towlion/s3.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int tl__bk_remote_enabled(tl_ctx *ctx, unsigned int flags)
{
	const char *r = tl__cfg(ctx, "TOWLION_BACKUP_REMOTE");
	return r && *r && !(flags & TL_BACKUP_NO_REMOTE);
}

typedef struct {
	tl_s3 *s3;
	tl_buf bucket, prefix;
} remote;

static void remote_close(remote *r)
{
	tl_s3_free(r->s3);
	tl_buf_dispose(&r->bucket);
	tl_buf_dispose(&r->prefix);
}

static int remote_open(remote *r, tl_ctx *ctx)
{
	memset(r, 0, sizeof(*r));
	const char *url = tl__cfg(ctx, "TOWLION_BACKUP_REMOTE");
	if (!tl__str_startswith(url, "s3://"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_BACKUP_REMOTE must look like s3://bucket/prefix (it is "
		                     "\"%s\")",
		                     url);
	int rc = tl_s3_split(&r->bucket, &r->prefix, url);
	if (rc == TL_OK)
		rc = tl_s3_new_backup(&r->s3, ctx); /* keys of its own, never the platform's */
	if (rc) {
		tl__error_prefix("TOWLION_BACKUP_REMOTE");
		remote_close(r);
	}
	return rc;
}

/* "<prefix>/<file>" (no double slash), to free(). */
static char *object_key(const remote *r, const char *file)
{
	const char *p = r->prefix.ptr ? r->prefix.ptr : "";
	size_t len = strlen(p);
	while (len && p[len - 1] == '/')
		len--;
	return len ? tl__sprintf("%.*s/%s", (int)len, p, file) : tl__strdup(file);
}

int tl__bk_remote_upload(char **url, tl_ctx *ctx, const char *path, const char *file)
{
	remote r;
	int rc = remote_open(&r, ctx);
	if (rc)
		return rc;
	char *key = object_key(&r, file);
	char *mkey = tl__sprintf("%s.json", key ? key : "");
	char *mpath = tl__sprintf("%s.json", path);
	tl_buf etag = TL_BUF_INIT, manifest = TL_BUF_INIT;
	tl_s3_object *head = NULL;
	struct stat st;
	rc = key && mkey && mpath ? TL_OK : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__step(ctx, "backup.upload", file, "copying %s to s3://%s/%s", file, r.bucket.ptr,
		              key);
	if (rc == TL_OK && stat(path, &st) != 0)
		rc = tl__error_os(0, errno, "cannot stat %s", path);
	if (rc == TL_OK)
		rc = tl_s3_object_put_file(&etag, r.s3, r.bucket.ptr, key, path, NULL);
	if (rc == TL_OK)
		rc = tl_s3_object_head(&head, r.s3, r.bucket.ptr, key);
	if (rc == TL_OK && tl_s3_object_size(head) != (uint64_t)st.st_size)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
		                   "the offsite copy of %s has %llu bytes, the backup %lld", file,
		                   (unsigned long long)tl_s3_object_size(head), (long long)st.st_size);
	if (rc == TL_OK && etag.size && strcmp(tl_s3_object_etag(head), etag.ptr) != 0)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
		                   "the offsite copy of %s has ETag %s, the upload returned %s", file,
		                   tl_s3_object_etag(head), etag.ptr);
	/* The manifest travels too, so the copy can be checked on its own. */
	if (rc == TL_OK)
		rc = tl__file_read(&manifest, mpath);
	if (rc == TL_OK)
		rc = tl_s3_object_put_data(NULL, r.s3, r.bucket.ptr, mkey, manifest.ptr, manifest.size,
		                           "application/json");
	if (rc == TL_OK) {
		*url = tl__sprintf("s3://%s/%s", r.bucket.ptr, key);
		if (!*url)
			rc = TL_ENOMEM;
	}
	if (rc)
		tl__error_prefix("offsite copy of %s", file);
	tl_s3_object_free(head);
	tl_buf_dispose(&etag);
	tl_buf_dispose(&manifest);
	free(key);
	free(mkey);
	free(mpath);
	remote_close(&r);
	return rc;
}

int tl__bk_remote_delete(tl_ctx *ctx, const char *file)
{
	remote r;
	int rc = remote_open(&r, ctx);
	if (rc)
		return rc;
	char *key = object_key(&r, file);
	char *mkey = key ? tl__sprintf("%s.json", key) : NULL;
	rc = key && mkey ? TL_OK : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl_s3_object_delete(r.s3, r.bucket.ptr, key);
	if (rc == TL_OK)
		rc = tl_s3_object_delete(r.s3, r.bucket.ptr, mkey);
	if (rc)
		tl__error_prefix("deleting the offsite copy of %s", file);
	free(key);
	free(mkey);
	remote_close(&r);
	return rc;
}
