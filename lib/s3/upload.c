/* Uploading a file: one PUT up to the multipart threshold, a multipart
 * upload above it.
 *
 * Each body is read twice: once to hash it (SHA-256 for the signed
 * x-amz-content-sha256, MD5 for Content-MD5), then again while it is sent,
 * so the server verifies both and a file that changes in between is
 * refused rather than stored half old, half new. The second read mostly
 * hits the page cache (parts are 16 MiB by default). */
#include "s3_internal.h"
#include "core/url.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024ull * 1024ull)
#define MIN_PART (5 * MIB)
#define MAX_PARTS 10000

typedef struct {
	tl_s3 *s3;
	const char *bucket;
	const char *key;
	const char *path;
	int fd;
	uint64_t size;
	const char *content_type_header;
	long timeout_ms;
} upload;

static int put_range(tl__s3_resp *resp, upload *u, const char *query, uint64_t off,
                     uint64_t len, unsigned char md5[16], const char *what, bool with_type)
{
	char sha[65];
	int rc = tl__s3_hash_file_range(sha, md5, u->s3->ctx, u->fd, off, len, u->path);
	if (rc)
		return rc;
	char md5h[64];
	tl__s3_content_md5_header(md5h, md5);
	const char *headers[] = {md5h, with_type ? u->content_type_header : NULL, NULL};
	tl__s3_req req = TL__S3_REQ_INIT("PUT");
	req.bucket = u->bucket;
	req.key = u->key;
	req.query = query;
	req.headers = headers;
	req.body_fd = u->fd;
	req.body_offset = off;
	req.body_size = len;
	req.payload_sha256 = sha;
	req.progress_step = "s3.put";
	req.progress_base = off;
	req.progress_total = u->size;
	req.timeout_ms = u->timeout_ms > 0 ? u->timeout_ms : -1;
	req.what = what;
	return tl__s3_do(u->s3, resp, &req);
}

static int check_etag(const char *etag, const unsigned char md5[16], upload *u,
                      const char *what)
{
	char hex[33];
	tl__hex(hex, md5, 16);
	/* The Content-MD5 header already made the server check the bytes;
	 * an ETag that is not the MD5 is normal with SSE-KMS, so it is only
	 * noted. */
	if (strlen(etag) == 32 && strcasecmp(etag, hex) != 0) {
		tl__log(u->s3->ctx, TL_LOG_DEBUG, "S3 %s %s/%s: ETag %s is not the MD5 %s "
		        "(server-side encryption?)", what, u->bucket, u->key, etag, hex);
	}
	return TL_OK;
}

static int put_single(tl_buf *etag, upload *u)
{
	unsigned char md5[16];
	tl__s3_resp resp;
	int rc = put_range(&resp, u, NULL, 0, u->size, md5, "put object", true);
	if (rc)
		return rc;
	check_etag(resp.etag, md5, u, "put object");
	if (etag) {
		tl__buf_clear(etag);
		rc = tl__buf_puts(etag, resp.etag);
	}
	tl__s3_resp_dispose(&resp);
	return rc;
}

static int abort_upload(upload *u, const char *upload_id_q)
{
	tl__s3_req req = TL__S3_REQ_INIT("DELETE");
	req.bucket = u->bucket;
	req.key = u->key;
	req.query = upload_id_q;
	req.what = "abort multipart upload";
	tl__s3_resp resp;
	int rc = tl__s3_do(u->s3, &resp, &req);
	tl__s3_resp_dispose(&resp);
	return rc;
}

static int put_multipart(tl_buf *etag, upload *u, uint64_t part_size)
{
	/* 1. CreateMultipartUpload */
	const char *headers[] = {u->content_type_header, NULL};
	tl__s3_req req = TL__S3_REQ_INIT("POST");
	req.bucket = u->bucket;
	req.key = u->key;
	req.query = "uploads=";
	req.headers = headers;
	req.what = "start multipart upload";
	tl__s3_resp resp;
	int rc = tl__s3_do(u->s3, &resp, &req);
	if (rc)
		return rc;
	/* part_md5s: the parts' binary MD5s, one after the other: the
	 * multipart ETag is their MD5, "-" and the number of parts. */
	tl_buf id = TL_BUF_INIT, idq = TL_BUF_INIT, done = TL_BUF_INIT, part_md5s = TL_BUF_INIT;
	rc = tl__s3_xml_get(&id, resp.body.ptr, resp.body.ptr + resp.body.size, "UploadId");
	tl__s3_resp_dispose(&resp);
	if (rc || !id.size) {
		tl_buf_dispose(&id);
		return tl__error_set(TL_EIO, TL_ERRCLASS_S3,
		                     "S3 start multipart upload %s/%s: no UploadId in the answer",
		                     u->bucket, u->key);
	}
	rc = tl__buf_puts(&idq, "uploadId=");
	if (!rc)
		rc = tl__url_encode(&idq, id.ptr);
	uint64_t parts = (u->size + part_size - 1) / part_size;
	tl__log(u->s3->ctx, TL_LOG_DEBUG, "S3 multipart upload of %s to %s/%s: %llu parts",
	        u->path, u->bucket, u->key, (unsigned long long)parts);
	if (!rc)
		rc = tl__buf_puts(&done, "<CompleteMultipartUpload>");
	/* 2. UploadPart, in order. */
	for (uint64_t n = 1; !rc && n <= parts; n++) {
		uint64_t off = (n - 1) * part_size;
		uint64_t len = n < parts ? part_size : u->size - off;
		tl_buf q = TL_BUF_INIT;
		/* Sorted by name: partNumber < uploadId. */
		rc = tl__buf_printf(&q, "partNumber=%llu&%s", (unsigned long long)n, idq.ptr);
		unsigned char md5[16];
		if (!rc)
			rc = put_range(&resp, u, q.ptr, off, len, md5, "upload part", false);
		tl_buf_dispose(&q);
		if (rc)
			break;
		rc = tl__buf_put(&part_md5s, md5, 16);
		if (!rc && !resp.etag[0])
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_S3,
			                   "S3 upload part %llu of %s/%s: no ETag in the answer",
			                   (unsigned long long)n, u->bucket, u->key);
		if (!rc) {
			check_etag(resp.etag, md5, u, "upload part");
			rc = tl__buf_printf(&done, "<Part><PartNumber>%llu</PartNumber><ETag>&quot;",
			                    (unsigned long long)n);
		}
		if (!rc)
			rc = tl__s3_xml_escape(&done, resp.etag);
		if (!rc)
			rc = tl__buf_puts(&done, "&quot;</ETag></Part>");
		tl__s3_resp_dispose(&resp);
	}
	if (!rc)
		rc = tl__buf_puts(&done, "</CompleteMultipartUpload>");
	/* 3. CompleteMultipartUpload */
	if (!rc) {
		tl__s3_req c = TL__S3_REQ_INIT("POST");
		c.bucket = u->bucket;
		c.key = u->key;
		c.query = idq.ptr;
		c.body = done.ptr;
		c.body_len = done.size;
		static const char *const xml[] = {"Content-Type: application/xml", NULL};
		c.headers = xml;
		/* The server assembles the parts before it answers. */
		c.timeout_ms = u->timeout_ms > 0 ? u->timeout_ms : 600000;
		c.what = "complete multipart upload";
		rc = tl__s3_do(u->s3, &resp, &c);
		if (!rc) {
			tl_buf e = TL_BUF_INIT;
			tl__s3_xml_get(&e, resp.body.ptr, resp.body.ptr + resp.body.size, "ETag");
			const char *got = e.size ? e.ptr : resp.etag;
			if (*got == '"')
				got++;
			/* Only noted: the upload is complete, and the parts were
			 * checked one by one through Content-MD5. */
			unsigned char sum[16];
			char expect[48];
			if (tl__md5_of(sum, part_md5s.ptr, part_md5s.size) == TL_OK) {
				tl__hex(expect, sum, 16);
				snprintf(expect + 32, sizeof(expect) - 32, "-%llu",
				         (unsigned long long)parts);
				if (strncasecmp(got, expect, strlen(expect)) != 0)
					tl__log(u->s3->ctx, TL_LOG_DEBUG,
					        "S3 multipart ETag %s differs from the expected %s", got,
					        expect);
			}
			if (etag) {
				tl__buf_clear(etag);
				rc = tl__buf_put(etag, got, strcspn(got, "\""));
			}
			tl_buf_dispose(&e);
			tl__s3_resp_dispose(&resp);
		}
	}
	if (rc && idq.size) {
		/* Leave no orphaned parts behind (they are billed); keep the
		 * first error, say if the abort failed too. */
		tl__error_saved saved;
		tl__error_save(&saved);
		if (abort_upload(u, idq.ptr))
			tl__log(u->s3->ctx, TL_LOG_WARN,
			        "S3: could not abort multipart upload %s of %s/%s (%s); "
			        "a lifecycle rule or a later abort must remove its parts",
			        id.ptr, u->bucket, u->key, tl_error_last()->message);
		tl__error_restore(&saved);
	}
	tl_buf_dispose(&id);
	tl_buf_dispose(&idq);
	tl_buf_dispose(&done);
	tl_buf_dispose(&part_md5s);
	return rc;
}

int tl_s3_object_put_file(tl_buf *etag, tl_s3 *s3, const char *bucket, const char *key,
                          const char *path, const tl_s3_transfer_options *opts)
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
	uint64_t threshold = o.multipart_threshold ? o.multipart_threshold : 64 * MIB;
	uint64_t part = o.part_size ? o.part_size : 16 * MIB;
	if (part < MIN_PART)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "S3 part size %llu is below the minimum of 5 MiB",
		                     (unsigned long long)part);
	if (o.content_type && strpbrk(o.content_type, "\r\n"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "content type must not contain a line break");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tl__error_os(tl__errno_to_result(errno), errno, "cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int err = errno;
		close(fd);
		return tl__error_os(TL_EIO, err, "cannot stat %s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "%s is not a regular file",
		                     path);
	}
	char *ct = tl__sprintf("Content-Type: %s",
	                       o.content_type ? o.content_type : "application/octet-stream");
	if (!ct) {
		close(fd);
		return TL_ENOMEM;
	}
	upload u = {s3, bucket, key, path, fd, (uint64_t)st.st_size, ct, o.timeout_ms};
	/* Grow the part size when the file would need more than 10000 parts. */
	while ((u.size + part - 1) / part > MAX_PARTS)
		part *= 2;
	tl_buf got = TL_BUF_INIT;
	rc = tl__step(s3->ctx, "s3.put", key, "uploading %s to %s/%s", path, bucket, key);
	if (!rc)
		rc = u.size > threshold ? put_multipart(&got, &u, part) : put_single(&got, &u);
	close(fd);
	free(ct);
	if (!rc && etag) {
		tl_buf_dispose(etag);
		*etag = got;
	} else {
		tl_buf_dispose(&got);
	}
	return rc;
}
