/*
 * libtowlion - S3-compatible object storage (MinIO, AWS) over libcurl.
 *
 * Every request is signed with AWS Signature Version 4 for service "s3"
 * in the configured region; the payload hash (x-amz-content-sha256) is
 * always the real SHA-256 of the body, computed while the file is read,
 * so the server can verify what it received.
 *
 * Configuration (tl_ctx): TOWLION_S3_ENDPOINT (e.g. http://127.0.0.1:9000
 * or https://s3.eu-west-1.amazonaws.com), TOWLION_S3_REGION (default
 * us-east-1), TOWLION_S3_ACCESS_KEY, TOWLION_S3_SECRET_KEY. Options given
 * to tl_s3_new() win over the configuration.
 *
 * Errors: the S3 error code is the upstream of tl_error_last() (class
 * TL_ERRCLASS_S3, upstream_code the HTTP status) and its message is part
 * of the message. Bad credentials (InvalidAccessKeyId,
 * SignatureDoesNotMatch, AccessDenied, RequestTimeTooSkewed, a wrong
 * region) are TL_EAUTH; NoSuchBucket, NoSuchKey, NoSuchBucketPolicy are
 * TL_ENOTFOUND; BucketNotEmpty and a bucket name owned by someone else
 * TL_ECONFLICT; NotImplemented TL_EUNSUPPORTED; an unreachable endpoint
 * TL_EUNAVAILABLE.
 *
 * Per-app keys: see tl_s3_app_create(); each app's user reaches its own
 * bucket only (docs/security.md, "Object storage").
 *
 * Long transfers report TL_EVENT_PROGRESS (step "s3.put" / "s3.get",
 * bytes done/total) and are cancelled by the event callback (TL_EUSER).
 */
#ifndef TOWLION_S3_H
#define TOWLION_S3_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

/** A client for one endpoint and one set of keys. */
typedef struct tl_s3 tl_s3;

/** URL styles (tl_s3_options.addressing). */
typedef enum {
	TL_S3_PATH_STYLE = 0,   /* http://endpoint/bucket/key (MinIO; default) */
	TL_S3_VIRTUAL_HOST = 1  /* http://bucket.endpoint/key (AWS) */
} tl_s3_addressing;

typedef struct {
	unsigned int version;       /* TL_S3_OPTIONS_VERSION */
	const char *endpoint;       /* NULL: TOWLION_S3_ENDPOINT */
	const char *region;         /* NULL: TOWLION_S3_REGION */
	const char *access_key;     /* NULL: TOWLION_S3_ACCESS_KEY */
	const char *secret_key;     /* NULL: TOWLION_S3_SECRET_KEY */
	int addressing;             /* a tl_s3_addressing */
	long timeout_ms;            /* requests without a file body; 0: 60000 */
	long connect_timeout_ms;    /* 0: 5000 */
} tl_s3_options;

#define TL_S3_OPTIONS_VERSION 1
#define TL_S3_OPTIONS_INIT {TL_S3_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0, 0}

TL_EXTERN(int) tl_s3_options_init(tl_s3_options *opts, unsigned int version);

/**
 * A client from the context's configuration and `opts` (NULL: defaults).
 * No request is made. TL_EINVALID when the endpoint is missing or not an
 * http(s) URL, or a key is missing. `ctx` must outlive the handle.
 */
TL_EXTERN(int) tl_s3_new(tl_s3 **out, tl_ctx *ctx, const tl_s3_options *opts);

/** Free the client; wipes the secret. NULL is fine. */
TL_EXTERN(void) tl_s3_free(tl_s3 *s3);

/** The endpoint URL in use (no trailing '/'), "" for NULL. */
TL_EXTERN(const char *) tl_s3_endpoint(const tl_s3 *s3);

/* ---- names (pure) ---------------------------------------------------- */

/**
 * Bucket name rules (the common subset of AWS and MinIO): 3..63 chars of
 * [a-z0-9.-], starting and ending with a letter or digit, no "..", not an
 * IPv4 address, not starting with "xn--", not ending in "-s3alias".
 */
TL_EXTERN(int) tl_s3_validate_bucket(const char *bucket);

/**
 * Object key rules: 1..1024 bytes, no control characters, no leading
 * '/', no "." or ".." path segment (URLs would normalise them away).
 */
TL_EXTERN(int) tl_s3_validate_key(const char *key);

/** The uploads bucket of an app: "<app>-uploads". */
TL_EXTERN(int) tl_s3_app_bucket(tl_buf *out, const char *app);

/**
 * Split "bucket", "bucket/key/part" or "s3://bucket/key" into bucket and
 * key (key "" when absent). Either out may be NULL. The bucket is
 * validated; the key is validated when not empty.
 */
TL_EXTERN(int) tl_s3_split(tl_buf *bucket, tl_buf *key, const char *text);

/* ---- buckets --------------------------------------------------------- */

/** Create a bucket; one that you already own is TL_OK (idempotent).
 * TL_ECONFLICT when someone else owns that name. */
TL_EXTERN(int) tl_s3_bucket_create(tl_s3 *s3, const char *bucket);

/** TL_OK when the bucket exists and is reachable with these keys,
 * TL_ENOTFOUND when it does not exist. */
TL_EXTERN(int) tl_s3_bucket_exists(tl_s3 *s3, const char *bucket);

/** Delete an empty bucket. TL_ENOTFOUND when it does not exist,
 * TL_ECONFLICT (BucketNotEmpty) when it holds objects. */
TL_EXTERN(int) tl_s3_bucket_delete(tl_s3 *s3, const char *bucket);

/** Delete every object of the bucket (all pages), then the bucket.
 * TL_ENOTFOUND when it does not exist. */
TL_EXTERN(int) tl_s3_bucket_purge(tl_s3 *s3, const char *bucket);

/** The buckets of the account. */
typedef struct tl_s3_bucket_list tl_s3_bucket_list;

TL_EXTERN(int) tl_s3_bucket_list_get(tl_s3_bucket_list **out, tl_s3 *s3);
TL_EXTERN(size_t) tl_s3_bucket_list_count(const tl_s3_bucket_list *l);
/** Name of the i-th bucket, NULL past the end. */
TL_EXTERN(const char *) tl_s3_bucket_list_at(const tl_s3_bucket_list *l, size_t i);
/** Creation date of the i-th bucket as the server wrote it (ISO 8601),
 * "" when unknown, NULL past the end. */
TL_EXTERN(const char *) tl_s3_bucket_list_created_at(const tl_s3_bucket_list *l,
                                                      size_t i);
TL_EXTERN(void) tl_s3_bucket_list_free(tl_s3_bucket_list *l);

/** Set the bucket's policy (a JSON document, sent as is). */
TL_EXTERN(int) tl_s3_bucket_policy_put(tl_s3 *s3, const char *bucket,
                                       const char *policy_json);

/** The bucket's policy; TL_ENOTFOUND when it has none (or no bucket). */
TL_EXTERN(int) tl_s3_bucket_policy_get(tl_buf *out, tl_s3 *s3, const char *bucket);

/** Remove the bucket's policy; having none is TL_OK. */
TL_EXTERN(int) tl_s3_bucket_policy_delete(tl_s3 *s3, const char *bucket);

/* ---- objects ----------------------------------------------------------- */

/**
 * An object's metadata, from tl_s3_object_head() (owned by the caller,
 * free with tl_s3_object_free()) or from a list (owned by the list).
 */
typedef struct tl_s3_object tl_s3_object;

TL_EXTERN(const char *) tl_s3_object_key(const tl_s3_object *o);
TL_EXTERN(uint64_t) tl_s3_object_size(const tl_s3_object *o);
/** The ETag without quotes ("" when unknown). A 32-hex ETag of a
 * single-part upload is the MD5 of the content; a multipart one ends in
 * "-<parts>". */
TL_EXTERN(const char *) tl_s3_object_etag(const tl_s3_object *o);
/** Last modification, seconds since the epoch (0 when unknown). */
TL_EXTERN(int64_t) tl_s3_object_last_modified(const tl_s3_object *o);
/** Content type from HEAD ("" from a list or when unknown). */
TL_EXTERN(const char *) tl_s3_object_content_type(const tl_s3_object *o);
TL_EXTERN(void) tl_s3_object_free(tl_s3_object *o);

/** TL_ENOTFOUND when the object (or bucket) does not exist. */
TL_EXTERN(int) tl_s3_object_head(tl_s3_object **out, tl_s3 *s3, const char *bucket,
                                 const char *key);

/** Delete an object; a missing key is TL_OK (S3 semantics), a missing
 * bucket TL_ENOTFOUND. */
TL_EXTERN(int) tl_s3_object_delete(tl_s3 *s3, const char *bucket, const char *key);

/** Options for object transfers. */
typedef struct {
	unsigned int version;          /* TL_S3_TRANSFER_OPTIONS_VERSION */
	const char *content_type;      /* put: NULL: application/octet-stream */
	uint64_t multipart_threshold;  /* put: files larger than this go in
	                                  parts; 0: 64 MiB */
	uint64_t part_size;            /* put: 0: 16 MiB; at least 5 MiB */
	unsigned int file_mode;        /* get: mode of the new file; 0: 0600 */
	long timeout_ms;               /* per request; 0: none (a stalled
	                                  transfer of 60 s still fails) */
} tl_s3_transfer_options;

#define TL_S3_TRANSFER_OPTIONS_VERSION 1
#define TL_S3_TRANSFER_OPTIONS_INIT {TL_S3_TRANSFER_OPTIONS_VERSION, NULL, 0, 0, 0, 0}

TL_EXTERN(int) tl_s3_transfer_options_init(tl_s3_transfer_options *opts,
                                           unsigned int version);

/**
 * Upload the file at `path` as bucket/key, streamed from disk. Files above
 * the multipart threshold go up as a multipart upload (aborted on any
 * failure, so no parts are left behind). `etag` (may be NULL) receives the
 * new object's ETag without quotes. `opts` may be NULL.
 */
TL_EXTERN(int) tl_s3_object_put_file(tl_buf *etag, tl_s3 *s3, const char *bucket,
                                     const char *key, const char *path,
                                     const tl_s3_transfer_options *opts);

/** Upload `len` bytes from memory as bucket/key (single request). */
TL_EXTERN(int) tl_s3_object_put_data(tl_buf *etag, tl_s3 *s3, const char *bucket,
                                     const char *key, const void *data, size_t len,
                                     const char *content_type);

/**
 * Download bucket/key to the file `path`, streamed into a temporary file
 * that replaces `path` only after the whole object arrived and was
 * checked: its size against Content-Length and, for a single-part ETag,
 * its MD5. A failed or cancelled download leaves `path` as it was.
 */
TL_EXTERN(int) tl_s3_object_get_file(tl_s3 *s3, const char *bucket, const char *key,
                                     const char *path,
                                     const tl_s3_transfer_options *opts);

/** Download a small object into memory (at most `max_bytes`, else
 * TL_EINVALID; 0: 16 MiB). */
TL_EXTERN(int) tl_s3_object_get_data(tl_buf *out, tl_s3 *s3, const char *bucket,
                                     const char *key, size_t max_bytes);

/* ---- listing ----------------------------------------------------------- */

typedef struct {
	unsigned int version;           /* TL_S3_LIST_OPTIONS_VERSION */
	const char *prefix;             /* only keys starting with this */
	const char *delimiter;          /* e.g. "/": group deeper keys into
	                                   common prefixes */
	unsigned int page_size;         /* max-keys per request; 0: 1000 */
	unsigned int max_pages;         /* stop after this many pages; 0: all */
	const char *continuation_token; /* resume from a previous list's
	                                   tl_s3_object_list_next_token() */
} tl_s3_list_options;

#define TL_S3_LIST_OPTIONS_VERSION 1
#define TL_S3_LIST_OPTIONS_INIT {TL_S3_LIST_OPTIONS_VERSION, NULL, NULL, 0, 0, NULL}

TL_EXTERN(int) tl_s3_list_options_init(tl_s3_list_options *opts, unsigned int version);

/** Objects of a bucket, in key order (ListObjectsV2, every page). */
typedef struct tl_s3_object_list tl_s3_object_list;

/** List the bucket; `opts` may be NULL. TL_ENOTFOUND for no bucket. */
TL_EXTERN(int) tl_s3_object_list_get(tl_s3_object_list **out, tl_s3 *s3,
                                     const char *bucket,
                                     const tl_s3_list_options *opts);
TL_EXTERN(size_t) tl_s3_object_list_count(const tl_s3_object_list *l);
/** The i-th object, owned by the list; NULL past the end. */
TL_EXTERN(const tl_s3_object *) tl_s3_object_list_at(const tl_s3_object_list *l,
                                                     size_t i);
/** Common prefixes (with a delimiter). */
TL_EXTERN(size_t) tl_s3_object_list_prefix_count(const tl_s3_object_list *l);
TL_EXTERN(const char *) tl_s3_object_list_prefix_at(const tl_s3_object_list *l,
                                                    size_t i);
/** Number of requests (pages) the listing took. */
TL_EXTERN(unsigned int) tl_s3_object_list_pages(const tl_s3_object_list *l);
/** The token to go on from when max_pages stopped the listing early;
 * NULL when the listing is complete. */
TL_EXTERN(const char *) tl_s3_object_list_next_token(const tl_s3_object_list *l);
TL_EXTERN(void) tl_s3_object_list_free(tl_s3_object_list *l);

/* ---- apps -------------------------------------------------------------- */

/** Flags for tl_s3_app_create(). */
#define TL_S3_DRY_RUN (1u << 0) /* report the names, change nothing */
/* tl_s3_app_create(): refuse (TL_ENOTFOUND) a name that is no registered
 * app; frontends set it unless the user asks for standalone storage. */
#define TL_S3_REGISTERED_ONLY (1u << 1)

/**
 * Provision storage for app `app`: create bucket "<app>-uploads"
 * (idempotent), the app's own object-store user "towlion-app-<app>" whose
 * only policy reaches that bucket and its objects (no other bucket, no
 * bucket listing, no user API, no bucket policy, ACL or deletion), and a
 * key pair of that user. S3_ENDPOINT (TOWLION_S3_APP_ENDPOINT, or the
 * client's endpoint when that is empty), S3_BUCKET, S3_ACCESS_KEY and
 * S3_SECRET_KEY go into the app's env file
 * (<TOWLION_STATE_DIR>/apps/<app>/app.env, written atomically, 0600, other
 * keys kept). The platform's own keys never go there.
 *
 * Idempotent: a key of the user already in the env file is kept; any
 * other key of the user (left by an interrupted run) is deleted.
 * Users are made through the object store's IAM API
 * (TOWLION_S3_ADMIN_API=iam, at TOWLION_S3_IAM_ENDPOINT or the S3
 * endpoint), with the client's keys, which must be allowed to use it.
 * TOWLION_S3_ADMIN_API=minio is TL_EUNSUPPORTED with what to do instead.
 * `bucket` and `env_path` (either may be NULL) receive the names used.
 */
TL_EXTERN(int) tl_s3_app_create(tl_buf *bucket, tl_buf *env_path, tl_s3 *s3,
                                const char *app, unsigned int flags);

/**
 * Rotate the app's key pair: a new key of its user is made, written into
 * the env file (atomically, 0600), then every other key of the user is
 * deleted, so the old one stops working. Running containers keep the old
 * key until they restart: redeploy the app right after. `access_key` (may
 * be NULL) receives the new access key id (not a secret). TL_ENOTFOUND
 * when the app has no user (run tl_s3_app_create() first).
 */
TL_EXTERN(int) tl_s3_app_rotate(tl_buf *access_key, tl_s3 *s3, const char *app,
                                unsigned int flags);

/**
 * Delete the app's user with all its keys and its policy, and remove
 * S3_ACCESS_KEY / S3_SECRET_KEY from its env file. The bucket is left
 * alone (tl_s3_bucket_purge() removes it). TL_ENOTFOUND when the app has
 * no user (the env file keys are removed all the same).
 */
TL_EXTERN(int) tl_s3_app_drop(tl_s3 *s3, const char *app, unsigned int flags);

/**
 * Create (or update) the object-store user `user` (1..64 of
 * [A-Za-z0-9+=,.@_-]) with the one-bucket policy on `bucket`, and a new
 * key pair for it: `access_key` and `secret_key` (a secret: wipe it). The
 * user may already exist; its other keys are kept.
 */
TL_EXTERN(int) tl_s3_user_create(tl_buf *access_key, tl_buf *secret_key, tl_s3 *s3,
                                 const char *user, const char *bucket);

/** Delete the user `user`, its keys first, then its policy.
 * TL_ENOTFOUND when there is no such user. */
TL_EXTERN(int) tl_s3_user_delete(tl_s3 *s3, const char *user);

/**
 * Keys of their own for offsite backups: the user "towlion-backup" with
 * the one-bucket policy on the bucket of TOWLION_BACKUP_REMOTE, and a new
 * key pair, written as TOWLION_BACKUP_S3_ACCESS_KEY and
 * TOWLION_BACKUP_S3_SECRET_KEY into <TOWLION_STATE_DIR>/backup-s3.env
 * (atomically, 0600); other keys of that user are then deleted. Backups
 * use that file when the two keys are not configured otherwise. `path`
 * (may be NULL) receives the file's path.
 */
TL_EXTERN(int) tl_s3_backup_keys_create(tl_buf *path, tl_s3 *s3, unsigned int flags);

/**
 * A client for offsite backups: endpoint and region from the context, the
 * keys from TOWLION_BACKUP_S3_ACCESS_KEY / TOWLION_BACKUP_S3_SECRET_KEY,
 * else from <TOWLION_STATE_DIR>/backup-s3.env. TL_EINVALID, saying what to
 * do, when there are none: the platform's keys are never used for backups.
 */
TL_EXTERN(int) tl_s3_new_backup(tl_s3 **out, tl_ctx *ctx);

TL_END_DECL

#endif
