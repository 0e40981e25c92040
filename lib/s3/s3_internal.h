/* S3 module internals: the signed request, XML extraction, digests. */
#ifndef TL_S3_INTERNAL_H
#define TL_S3_INTERNAL_H

#include "core/core.h"
#include "towlion/s3.h"

#include <stdbool.h>

struct tl_s3 {
	tl_ctx *ctx;
	char *scheme;     /* "http" or "https" */
	char *hostport;   /* host[:port] as in the endpoint */
	char *base_path;  /* endpoint path without trailing '/', often "" */
	char *endpoint;   /* scheme://hostport[base_path] */
	char *region;
	char *sigv4;      /* "aws:amz:<region>:s3" */
	char *userpwd;    /* "access:secret" (a secret) */
	char *iam_url;    /* the IAM API: TOWLION_S3_IAM_ENDPOINT or endpoint/ */
	char *iam_sigv4;  /* "aws:amz:<region>:iam" */
	int addressing;
	long timeout_ms;
	long connect_timeout_ms;
	void *curl;       /* one easy handle, reused so connections stay open */
};

/* Receives each chunk of a successful (2xx) response body. */
typedef int (*tl__s3_sink)(const char *data, size_t len, void *payload);

typedef struct {
	const char *method;          /* GET HEAD PUT POST DELETE */
	const char *bucket;          /* NULL: the service (list buckets) */
	const char *key;             /* NULL: the bucket itself */
	const char *query;           /* canonical: sorted by name, values
	                                RFC 3986-encoded ('/' as %2F), each
	                                parameter with '=' */
	const char *const *headers;  /* extra "Name: value", NULL terminated */
	const void *body;            /* memory body, or NULL */
	size_t body_len;
	int body_fd;                 /* file body when >= 0 (set -1 if none) */
	uint64_t body_offset;
	uint64_t body_size;
	const char *payload_sha256;  /* hex; required for a file body,
	                                computed for a memory body */
	tl__s3_sink sink;            /* 2xx body goes here instead of resp */
	void *sink_payload;
	const char *progress_step;   /* emit PROGRESS events when set */
	uint64_t progress_base;
	uint64_t progress_total;
	long timeout_ms;             /* 0: the client's default; <0: none */
	const char *what;            /* for messages: "create bucket" */
	const char *url;             /* a whole URL instead of bucket/key
	                                (the IAM API) */
	const char *sigv4;           /* NULL: the client's ("...:s3") */
} tl__s3_req;

#define TL__S3_REQ_INIT(m) {.method = (m), .body_fd = -1}

typedef struct {
	long status;
	tl_buf body;            /* unless streamed to the sink */
	char etag[160];         /* without quotes */
	char content_type[160];
	char last_modified[64];
	char sse[32];           /* x-amz-server-side-encryption */
	uint64_t content_length;
	bool has_length;
} tl__s3_resp;

/* The request's URL: path-style or virtual-host style, key encoded, the
 * canonical query appended. */
int tl__s3_build_url(tl_buf *url, const tl_s3 *s3, const tl__s3_req *req);
/* Send a signed request. TL_OK means an HTTP answer of any status arrived
 * (look at resp->status); transport failures are TL_EUNAVAILABLE,
 * TL_ETIMEOUT, TL_EUSER, TL_EIO. */
int tl__s3_perform(tl_s3 *s3, tl__s3_resp *resp, const tl__s3_req *req);
/* Perform, then turn a non-2xx answer (or a 200 carrying <Error>) into
 * the last error. */
int tl__s3_do(tl_s3 *s3, tl__s3_resp *resp, const tl__s3_req *req);
void tl__s3_resp_dispose(tl__s3_resp *resp);

/* Set the last error from an S3 error answer; returns the tl_result. */
int tl__s3_error_from(const tl__s3_resp *resp, const char *what, const char *bucket,
                      const char *key);
/* The tl_result for an S3 error code and HTTP status. */
int tl__s3_map_code(const char *code, long status);

/* ---- XML (xml.c): a tolerant extractor for S3's flat documents ---- */

/* Find the next element <name ...>inner</name> (or <name />) in [p, end).
 * On success sets inner, inner_len and after (past the close tag). */
bool tl__s3_xml_find(const char *p, const char *end, const char *name,
                     const char **inner, size_t *inner_len, const char **after);
/* Append the text of [inner, inner+len) with entities decoded. */
int tl__s3_xml_text(tl_buf *out, const char *inner, size_t len);
/* Find `name` in [p, end) and decode its text into out ("" if absent:
 * returns TL_ENOTFOUND then, out cleared). */
int tl__s3_xml_get(tl_buf *out, const char *p, const char *end, const char *name);
/* Append text escaped for XML content. */
int tl__s3_xml_escape(tl_buf *out, const char *s);

/* ---- the documents read from answers (pure, fuzzed) ---- */

/* A 2xx body that is an <Error> document (CompleteMultipartUpload
 * answers 200 and may report its failure so). */
bool tl__s3_body_is_error(const char *body, size_t len);
/* ListBuckets: the buckets with a name, in order (list.c's sibling). */
int tl__s3_bucket_list_parse(tl_s3_bucket_list **out, const char *body, size_t len);
/* An empty object list, filled page by page. */
tl_s3_object_list *tl__s3_object_list_new(void);
/* One ListObjectsV2 page: its objects and common prefixes appended to
 * `l`; *more when IsTruncated, and then `token` holds the continuation
 * token. TL_EIO for a bad size or a truncated page without a token
 * (`bucket` names it). */
int tl__s3_list_page(tl_s3_object_list *l, const char *body, size_t len, bool *more,
                     tl_buf *token, const char *bucket);
/* IAM ListAccessKeys: the key ids (NULL-terminated; tl__strv_free). */
int tl__s3_access_key_ids(char ***out, const char *body, size_t len);

/* ---- digests (digest.c) ---- */

/* MD5 (RFC 1321) from OpenSSL's libcrypto, piece by piece: new, update,
 * final, free (free also after a failure; NULL is fine). */
typedef struct tl__md5 tl__md5;

int tl__md5_new(tl__md5 **out);
int tl__md5_update(tl__md5 *m, const void *data, size_t len);
int tl__md5_final(tl__md5 *m, unsigned char out[16]);
void tl__md5_free(tl__md5 *m);
/* The MD5 of one block of memory. */
int tl__md5_of(unsigned char out[16], const void *data, size_t len);
/* "Content-MD5: <base64>" for a binary MD5. */
void tl__s3_content_md5_header(char out[64], const unsigned char md5[16]);
/* SHA-256 (hex) and MD5 (binary) of a file range, read with pread;
 * cancellable through ctx. */
int tl__s3_hash_file_range(char sha_hex[65], unsigned char md5[16], tl_ctx *ctx,
                           int fd, uint64_t offset, uint64_t size,
                           const char *path);

/* ---- helpers ---- */

/* "2026-11-30T04:44:44.000Z" or an HTTP date -> epoch seconds; none
 * (NULL or "") is 0, anything else TL_EIO naming `what`. */
int tl__s3_parse_time(int64_t *out, const char *text, const char *what);
/* Validate bucket (and key when not NULL), for public entry points. */
int tl__s3_check_names(const char *bucket, const char *key);

/* ---- users and keys (iam.c) ---- */

/* The IAM user name of an app: "towlion-app-<app>". */
int tl__s3_app_user(tl_buf *out, const char *app);
/* The policy that lets a user reach `bucket` and nothing else (JSON). */
int tl__s3_bucket_policy_json(tl_buf *out, const char *bucket);
/* TOWLION_S3_ADMIN_API: TL_OK for "iam", a clear TL_EUNSUPPORTED /
 * TL_EINVALID for anything else (what to do is in the message). */
int tl__s3_admin_api_check(tl_ctx *ctx);
/* Create the user if missing and (re)write its one-bucket policy. */
int tl__s3_user_ensure(tl_s3 *s3, const char *user, const char *bucket);
/* The user's access key ids (NULL-terminated; tl__strv_free). */
int tl__s3_user_keys(char ***out, tl_s3 *s3, const char *user);
/* A new key pair for the user (secret_key is a secret: dispose_secret). */
int tl__s3_user_key_create(tl_buf *access_key, tl_buf *secret_key, tl_s3 *s3,
                           const char *user);
/* Delete one key; an unknown one is TL_OK. */
int tl__s3_user_key_delete(tl_s3 *s3, const char *user, const char *access_key);

/* Objects (object.c), also built by lists. */
struct tl_s3_object {
	char *key;
	uint64_t size;
	char *etag;
	int64_t last_modified;
	char *content_type;
};
void tl__s3_object_dispose(tl_s3_object *o);

#endif
