/* Objects: metadata, head, delete, small puts and gets, and the checked,
 * streamed download into a file. */
#include "s3_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *tl_s3_object_key(const tl_s3_object *o) { return o && o->key ? o->key : ""; }
uint64_t tl_s3_object_size(const tl_s3_object *o) { return o ? o->size : 0; }
const char *tl_s3_object_etag(const tl_s3_object *o) { return o && o->etag ? o->etag : ""; }
int64_t tl_s3_object_last_modified(const tl_s3_object *o) { return o ? o->last_modified : 0; }
const char *tl_s3_object_content_type(const tl_s3_object *o)
{
	return o && o->content_type ? o->content_type : "";
}

void tl__s3_object_dispose(tl_s3_object *o)
{
	if (!o)
		return;
	free(o->key);
	free(o->etag);
	free(o->content_type);
	memset(o, 0, sizeof(*o));
}

void tl_s3_object_free(tl_s3_object *o)
{
	tl__s3_object_dispose(o);
	free(o);
}

int tl_s3_transfer_options_init(tl_s3_transfer_options *opts, unsigned int version)
{
	tl_s3_transfer_options def = TL_S3_TRANSFER_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_S3_TRANSFER_OPTIONS_VERSION, "tl_s3_transfer_options");
}

int tl_s3_object_head(tl_s3_object **out, tl_s3 *s3, const char *bucket, const char *key)
{
	TL__CHECK_ARG(out && s3);
	int rc = tl__s3_check_names(bucket, key);
	if (rc)
		return rc;
	tl__s3_req req = TL__S3_REQ_INIT("HEAD");
	req.bucket = bucket;
	req.key = key;
	req.what = "head object";
	tl__s3_resp resp;
	if ((rc = tl__s3_do(s3, &resp, &req)))
		return rc;
	tl_s3_object *o = tl__calloc(1, sizeof(*o));
	if (o) {
		o->key = tl__strdup(key);
		o->etag = tl__strdup(resp.etag);
		o->content_type = tl__strdup(resp.content_type);
		o->size = resp.content_length;
	}
	bool whole = o && o->key && o->etag && o->content_type;
	rc = whole ? tl__s3_parse_time(&o->last_modified, resp.last_modified, "Last-Modified")
	           : TL_ENOMEM;
	tl__s3_resp_dispose(&resp);
	if (rc) {
		tl_s3_object_free(o);
		return rc;
	}
	*out = o;
	return TL_OK;
}

int tl_s3_object_delete(tl_s3 *s3, const char *bucket, const char *key)
{
	TL__CHECK_ARG(s3);
	int rc = tl__s3_check_names(bucket, key);
	if (rc)
		return rc;
	tl__s3_req req = TL__S3_REQ_INIT("DELETE");
	req.bucket = bucket;
	req.key = key;
	req.what = "delete object";
	tl__s3_resp resp;
	rc = tl__s3_do(s3, &resp, &req);
	tl__s3_resp_dispose(&resp);
	return rc;
}

void tl__s3_content_md5_header(char out[64], const unsigned char md5[16])
{
	char b64[32];
	sodium_bin2base64(b64, sizeof(b64), md5, 16, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, 64, "Content-MD5: %s", b64);
}

static int set_etag(tl_buf *etag, const char *value)
{
	if (!etag)
		return TL_OK;
	tl__buf_clear(etag);
	return tl__buf_puts(etag, value);
}

int tl_s3_object_put_data(tl_buf *etag, tl_s3 *s3, const char *bucket, const char *key,
                          const void *data, size_t len, const char *content_type)
{
	TL__CHECK_ARG(s3 && (data || len == 0));
	int rc = tl__s3_check_names(bucket, key);
	if (rc)
		return rc;
	unsigned char md5[16];
	if ((rc = tl__md5_of(md5, data ? data : "", len)))
		return rc;
	char md5h[64];
	tl__s3_content_md5_header(md5h, md5);
	char *ct = tl__sprintf("Content-Type: %s",
	                       content_type ? content_type : "application/octet-stream");
	if (!ct)
		return TL_ENOMEM;
	if (strpbrk(ct, "\r\n")) {
		free(ct);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "content type must not contain a line break");
	}
	const char *headers[] = {md5h, ct, NULL};
	tl__s3_req req = TL__S3_REQ_INIT("PUT");
	req.bucket = bucket;
	req.key = key;
	req.headers = headers;
	req.body = data ? data : "";
	req.body_len = len;
	req.what = "put object";
	tl__s3_resp resp;
	rc = tl__s3_do(s3, &resp, &req);
	free(ct);
	if (!rc)
		rc = set_etag(etag, resp.etag);
	tl__s3_resp_dispose(&resp);
	return rc;
}

int tl_s3_object_get_data(tl_buf *out, tl_s3 *s3, const char *bucket, const char *key,
                          size_t max_bytes)
{
	TL__CHECK_ARG(out && s3);
	int rc = tl__s3_check_names(bucket, key);
	if (rc)
		return rc;
	if (!max_bytes)
		max_bytes = 16u << 20;
	tl__s3_req req = TL__S3_REQ_INIT("GET");
	req.bucket = bucket;
	req.key = key;
	req.what = "get object";
	tl__s3_resp resp;
	if ((rc = tl__s3_do(s3, &resp, &req)))
		return rc;
	if (resp.body.size > max_bytes) {
		tl__s3_resp_dispose(&resp);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_S3,
		                     "S3 object %s/%s is larger than %zu bytes: download it "
		                     "to a file", bucket, key, max_bytes);
	}
	if (resp.has_length && resp.content_length != resp.body.size) {
		tl__s3_resp_dispose(&resp);
		return tl__error_set(TL_EIO, TL_ERRCLASS_S3, "S3 object %s/%s arrived truncated",
		                     bucket, key);
	}
	tl_buf_dispose(out);
	*out = resp.body;
	if (!out->ptr)
		return tl__buf_put(out, "", 0);
	return TL_OK;
}

/* ---- download to a file ---- */

typedef struct {
	tl__atomic_file af;
	tl__md5 *md5;
	uint64_t got;
} download;

static int download_sink(const char *data, size_t len, void *payload)
{
	download *d = payload;
	int rc = tl__md5_update(d->md5, data, len);
	d->got += len;
	return rc ? rc : tl__atomic_write(&d->af, data, len);
}

static bool is_md5_etag(const char *etag)
{
	if (strlen(etag) != 32)
		return false;
	for (const char *p = etag; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
			return false;
	return true;
}

int tl_s3_object_get_file(tl_s3 *s3, const char *bucket, const char *key, const char *path,
                          const tl_s3_transfer_options *opts)
{
	TL__CHECK_ARG(s3 && path && *path);
	tl_s3_transfer_options o = TL_S3_TRANSFER_OPTIONS_INIT;
	if (opts) {
		TL__CHECK_VERSION(opts, TL_S3_TRANSFER_OPTIONS_VERSION, "tl_s3_transfer_options");
		o = *opts;
	}
	int rc = tl__s3_check_names(bucket, key);
	if (rc)
		return rc;
	download d;
	memset(&d, 0, sizeof(d));
	if ((rc = tl__md5_new(&d.md5)))
		return rc;
	if ((rc = tl__atomic_open(&d.af, path, o.file_mode ? o.file_mode : 0600))) {
		tl__md5_free(d.md5);
		return rc;
	}
	tl__s3_req req = TL__S3_REQ_INIT("GET");
	req.bucket = bucket;
	req.key = key;
	req.sink = download_sink;
	req.sink_payload = &d;
	req.progress_step = "s3.get";
	req.timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : -1;
	req.what = "get object";
	tl__s3_resp resp;
	rc = tl__s3_do(s3, &resp, &req);
	if (!rc && resp.has_length && d.got != resp.content_length)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_S3,
		                   "S3 object %s/%s arrived truncated (%llu of %llu bytes); "
		                   "%s was left unchanged", bucket, key, (unsigned long long)d.got,
		                   (unsigned long long)resp.content_length, path);
	/* A single-part ETag is the MD5 of the content, except with SSE-KMS or
	 * SSE-C, where it is not. */
	if (!rc && is_md5_etag(resp.etag) && (!resp.sse[0] || strcmp(resp.sse, "AES256") == 0)) {
		unsigned char sum[16];
		char hex[33];
		rc = tl__md5_final(d.md5, sum);
		tl__hex(hex, sum, 16);
		if (!rc && strcasecmp(hex, resp.etag) != 0)
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_S3,
			                   "S3 object %s/%s arrived corrupted (MD5 %s, ETag %s); "
			                   "%s was left unchanged", bucket, key, hex, resp.etag, path);
	}
	tl__s3_resp_dispose(&resp);
	tl__md5_free(d.md5);
	if (rc) {
		tl__atomic_abort(&d.af);
		return rc;
	}
	return tl__atomic_commit(&d.af);
}
