/* The S3 client: endpoint and keys, and one signed request over libcurl.
 *
 * libcurl (CURLOPT_AWS_SIGV4) signs; two things it does not do in 7.88 are
 * done here: the payload hash header (x-amz-content-sha256, which curl
 * then also uses in the canonical request) and the canonical query string
 * (curl signs the query as given, so callers pass it already sorted by
 * name with every value RFC 3986-encoded). */
#include "s3_internal.h"
#include "core/url.h"
#include "towlion/validate.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ERROR_BODY_MAX (1u << 20)
#define ANSWER_MAX (32u << 20) /* a 2xx body not streamed to a sink */
#define PROGRESS_EVERY (1u << 20)

int tl_s3_options_init(tl_s3_options *opts, unsigned int version)
{
	tl_s3_options def = TL_S3_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_S3_OPTIONS_VERSION, "tl_s3_options");
}

static const char *pick(const char *given, const tl_ctx *ctx, const char *key)
{
	if (given)
		return given;
	const char *v = tl_ctx_config_get(ctx, key);
	return v ? v : "";
}

void tl_s3_free(tl_s3 *s3)
{
	if (!s3)
		return;
	if (s3->curl)
		curl_easy_cleanup(s3->curl);
	free(s3->scheme);
	free(s3->hostport);
	free(s3->base_path);
	free(s3->endpoint);
	free(s3->region);
	free(s3->sigv4);
	tl__free_secret(s3->userpwd);
	free(s3->iam_url);
	free(s3->iam_sigv4);
	free(s3);
}

const char *tl_s3_endpoint(const tl_s3 *s3)
{
	return s3 ? s3->endpoint : "";
}

int tl_s3_new(tl_s3 **out, tl_ctx *ctx, const tl_s3_options *opts)
{
	TL__CHECK_ARG(out && ctx);
	tl_s3_options o = TL_S3_OPTIONS_INIT;
	if (opts) {
		TL__CHECK_VERSION(opts, TL_S3_OPTIONS_VERSION, "tl_s3_options");
		o = *opts;
	}
	TL__CHECK_ARG(o.addressing == TL_S3_PATH_STYLE || o.addressing == TL_S3_VIRTUAL_HOST);
	const char *endpoint = pick(o.endpoint, ctx, "TOWLION_S3_ENDPOINT");
	const char *region = pick(o.region, ctx, "TOWLION_S3_REGION");
	const char *access = pick(o.access_key, ctx, "TOWLION_S3_ACCESS_KEY");
	const char *secret = pick(o.secret_key, ctx, "TOWLION_S3_SECRET_KEY");
	if (!*endpoint)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "no S3 endpoint: set TOWLION_S3_ENDPOINT "
		                     "(e.g. http://127.0.0.1:9000)");
	if (!*access || !*secret)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "no S3 keys: set TOWLION_S3_ACCESS_KEY and "
		                     "TOWLION_S3_SECRET_KEY");
	if (!*region)
		region = "us-east-1";
	for (const char *p = region; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                     "TOWLION_S3_REGION '%s' is not a region name "
			                     "(like us-east-1)", region);
	if (strchr(access, ':'))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_S3_ACCESS_KEY must not contain ':'");
	tl__url u;
	int rc = tl__url_parse(&u, endpoint, "TOWLION_S3_ENDPOINT");
	if (rc)
		return rc;
	if ((strcmp(u.scheme, "http") && strcmp(u.scheme, "https")) || u.user) {
		tl__url_dispose(&u);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_S3_ENDPOINT must be http(s)://host[:port] "
		                     "without credentials");
	}
	if (strchr(u.path, '?') || strchr(u.path, '#')) {
		tl__url_dispose(&u);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_S3_ENDPOINT must not have a query");
	}
	tl_s3 *s = tl__calloc(1, sizeof(*s));
	if (!s) {
		tl__url_dispose(&u);
		return TL_ENOMEM;
	}
	size_t plen = strlen(u.path);
	while (plen && u.path[plen - 1] == '/')
		plen--;
	const char *host = u.host;
	bool v6 = strchr(host, ':') != NULL;
	s->ctx = ctx;
	s->scheme = tl__strdup(u.scheme);
	s->hostport = u.port ? tl__sprintf(v6 ? "[%s]:%d" : "%s:%d", host, u.port)
	                     : tl__sprintf(v6 ? "[%s]" : "%s", host);
	s->base_path = tl__strndup(u.path, plen);
	s->region = tl__strdup(region);
	s->sigv4 = tl__sprintf("aws:amz:%s:s3", region);
	s->userpwd = tl__sprintf("%s:%s", access, secret);
	s->iam_sigv4 = tl__sprintf("aws:amz:%s:iam", region);
	s->addressing = o.addressing;
	s->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 60000;
	s->connect_timeout_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : 5000;
	s->curl = curl_easy_init();
	tl__url_dispose(&u);
	if (s->scheme && s->hostport && s->base_path)
		s->endpoint = tl__sprintf("%s://%s%s", s->scheme, s->hostport, s->base_path);
	/* The user API lives at the S3 endpoint (moto, Ceph RGW) unless
	 * TOWLION_S3_IAM_ENDPOINT says otherwise (AWS, SeaweedFS's `weed iam`). */
	const char *iam = tl_ctx_config_get(ctx, "TOWLION_S3_IAM_ENDPOINT");
	if (iam && *iam && !tl__str_startswith(iam, "http://") &&
	    !tl__str_startswith(iam, "https://")) {
		tl_s3_free(s);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_S3_IAM_ENDPOINT must be an http(s):// URL");
	}
	if (s->endpoint)
		s->iam_url = iam && *iam ? tl__strdup(iam) : tl__sprintf("%s/", s->endpoint);
	/* AWS's IAM is global and signs in us-east-1 whatever the S3 region. */
	if (iam && strstr(iam, "://iam.amazonaws.com")) {
		free(s->iam_sigv4);
		s->iam_sigv4 = tl__strdup("aws:amz:us-east-1:iam");
	}
	if (!s->endpoint || !s->region || !s->sigv4 || !s->userpwd || !s->curl ||
	    !s->iam_url || !s->iam_sigv4) {
		tl_s3_free(s);
		return tl__error_oom();
	}
	*out = s;
	return TL_OK;
}

int tl__s3_build_url(tl_buf *url, const tl_s3 *s3, const tl__s3_req *req)
{
	int rc;
	if (req->bucket && s3->addressing == TL_S3_VIRTUAL_HOST)
		rc = tl__buf_printf(url, "%s://%s.%s%s/", s3->scheme, req->bucket,
		                    s3->hostport, s3->base_path);
	else if (req->bucket)
		rc = tl__buf_printf(url, "%s/%s", s3->endpoint, req->bucket);
	else
		rc = tl__buf_printf(url, "%s/", s3->endpoint);
	if (!rc && req->key) {
		if (s3->addressing != TL_S3_VIRTUAL_HOST)
			rc = tl__buf_putc(url, '/');
		if (!rc)
			rc = tl__url_encode_path(url, req->key);
	}
	if (!rc && req->query && *req->query)
		rc = tl__buf_printf(url, "?%s", req->query);
	return rc;
}

/* ---- transfer callbacks ---- */

typedef struct {
	tl_s3 *s3;
	const tl__s3_req *req;
	tl__s3_resp *resp;
	CURL *curl;
	const unsigned char *mem; /* memory body cursor */
	uint64_t sent;            /* bytes of the body handed to curl */
	uint64_t last_progress;
	int rc;                   /* first failure inside a callback */
} transfer;

static size_t on_read(char *buf, size_t size, size_t nitems, void *p)
{
	transfer *t = p;
	const tl__s3_req *req = t->req;
	size_t want = size * nitems;
	uint64_t total = req->body_fd >= 0 ? req->body_size : req->body_len;
	uint64_t left = total - t->sent;
	if (want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (req->body_fd < 0) {
		memcpy(buf, t->mem + t->sent, want);
		t->sent += want;
		return want;
	}
	ssize_t n;
	do
		n = pread(req->body_fd, buf, want, (off_t)(req->body_offset + t->sent));
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		/* A file that shrank under us would otherwise hang the upload. */
		t->rc = n < 0 ? tl__error_os(TL_EIO, errno, "S3 upload: cannot read the file")
		              : tl__error_set(TL_EIO, TL_ERRCLASS_OS,
		                              "S3 upload: the file shrank while it was sent");
		return CURL_READFUNC_ABORT;
	}
	t->sent += (uint64_t)n;
	return (size_t)n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *p)
{
	transfer *t = p;
	size_t len = size * nmemb;
	long status = 0;
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	int rc;
	if (t->req->sink && status >= 200 && status < 300) {
		rc = t->req->sink(data, len, t->req->sink_payload);
	} else if (t->resp->body.size + len > ERROR_BODY_MAX && !(status >= 200 && status < 300)) {
		return len; /* an error body this large is not worth keeping */
	} else if (t->resp->body.size + len > ANSWER_MAX) {
		/* an answer read into memory (a listing page, XML): bounded */
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_S3,
		                   "the S3 answer is larger than %u bytes (the limit)", ANSWER_MAX);
	} else {
		rc = tl__buf_put(&t->resp->body, data, len);
	}
	if (rc) {
		t->rc = rc;
		return 0;
	}
	return len;
}

static void copy_header_value(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		v++, n -= 2;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nitems, void *p)
{
	transfer *t = p;
	size_t len = size * nitems;
	tl__s3_resp *r = t->resp;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue): forget the last one's. */
		r->etag[0] = r->content_type[0] = r->last_modified[0] = r->sse[0] = '\0';
		r->has_length = false;
		return len;
	}
	const char *colon = memchr(data, ':', len);
	if (!colon)
		return len;
	size_t nlen = (size_t)(colon - data);
	const char *v = colon + 1;
	size_t vlen = len - nlen - 1;
#define IS(h) (nlen == sizeof(h) - 1 && strncasecmp(data, h, nlen) == 0)
	if (IS("etag")) {
		copy_header_value(r->etag, sizeof(r->etag), v, vlen);
	} else if (IS("content-type")) {
		copy_header_value(r->content_type, sizeof(r->content_type), v, vlen);
	} else if (IS("last-modified")) {
		copy_header_value(r->last_modified, sizeof(r->last_modified), v, vlen);
	} else if (IS("x-amz-server-side-encryption")) {
		copy_header_value(r->sse, sizeof(r->sse), v, vlen);
	} else if (IS("content-length")) {
		char tmp[32];
		copy_header_value(tmp, sizeof(tmp), v, vlen);
		/* A peer's number: strtoull made "-1" into 2^64-1. Not a clean
		 * number: no length, and no error either (the body decides). */
		uint64_t n = 0;
		if (tl_parse_uint(&n, tmp, 0, UINT64_MAX, "Content-Length") == TL_OK) {
			r->content_length = n;
			r->has_length = true;
		} else {
			tl_error_clear();
		}
	}
#undef IS
	return len;
}

static int on_progress(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	transfer *t = p;
	const tl__s3_req *req = t->req;
	int rc = TL_OK;
	if (req->progress_step) {
		uint64_t now = req->body_fd >= 0 || req->body ? (uint64_t)un : (uint64_t)dn;
		uint64_t done = req->progress_base + now;
		uint64_t total = req->progress_total;
		if (!total && dt > 0)
			total = (uint64_t)dt;
		if (done >= t->last_progress + PROGRESS_EVERY ||
		    (total && done == total && done != t->last_progress)) {
			t->last_progress = done;
			rc = tl__progress(t->s3->ctx, req->progress_step, done, total);
		}
	}
	if (!rc)
		rc = tl__cancelled(t->s3->ctx);
	if (rc) {
		t->rc = rc;
		return 1;
	}
	return 0;
}

int tl__s3_perform(tl_s3 *s3, tl__s3_resp *resp, const tl__s3_req *req)
{
	TL__CHECK_ARG(s3 && resp && req && req->method);
	memset(resp, 0, sizeof(*resp));
	int rc = tl__cancelled(s3->ctx);
	if (rc)
		return rc;
	tl_buf url = TL_BUF_INIT;
	if ((rc = req->url ? tl__buf_puts(&url, req->url) : tl__s3_build_url(&url, s3, req)))
		return rc;
	char sha[65];
	const char *payload_sha = req->payload_sha256;
	if (req->body_fd >= 0 && !payload_sha) {
		tl_buf_dispose(&url);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_S3,
		                     "S3 request with a file body but no payload hash");
	}
	if (!payload_sha) {
		tl__sha256_hex(sha, req->body ? req->body : "", req->body ? req->body_len : 0);
		payload_sha = sha;
	}
	char sha_header[96];
	snprintf(sha_header, sizeof(sha_header), "x-amz-content-sha256: %s", payload_sha);
	struct curl_slist *hdrs = curl_slist_append(NULL, sha_header);
	for (const char *const *h = req->headers; hdrs && h && *h; h++) {
		struct curl_slist *n = curl_slist_append(hdrs, *h);
		if (!n) {
			curl_slist_free_all(hdrs);
			hdrs = NULL;
		} else {
			hdrs = n;
		}
	}
	if (!hdrs) {
		tl_buf_dispose(&url);
		return tl__error_oom();
	}

	CURL *c = s3->curl;
	curl_easy_reset(c); /* keeps the connection cache */
	transfer t = {s3, req, resp, c, req->body, 0, 0, TL_OK};
	const char *m = req->method;
	bool has_body = req->body_fd >= 0 || req->body;
	curl_easy_setopt(c, CURLOPT_URL, url.ptr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERPWD, s3->userpwd);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, req->sigv4 ? req->sigv4 : s3->sigv4);
	if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (has_body || strcmp(m, "PUT") == 0) {
		/* Every body goes through the read callback as an "upload"; the
		 * verb is set explicitly for POST. */
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		                 (curl_off_t)(req->body_fd >= 0 ? req->body_size
		                                                : req->body ? req->body_len : 0));
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &t);
		if (strcmp(m, "PUT") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	} else if (strcmp(m, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s3->connect_timeout_ms);
	long timeout = req->timeout_ms ? req->timeout_ms : s3->timeout_ms;
	if (timeout > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	/* A transfer that moves nothing for a minute has stalled. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);

	CURLcode cc = curl_easy_perform(c);
	if (t.rc) {
		rc = t.rc;
	} else if (cc != CURLE_OK) {
		int code = TL_EIO;
		const char *hint = "";
		if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST) {
			code = TL_EUNAVAILABLE;
			hint = "; is it running, and is TOWLION_S3_ENDPOINT right?";
		} else if (cc == CURLE_OPERATION_TIMEDOUT) {
			code = TL_ETIMEOUT;
		}
		rc = tl__error_set_upstream(code, TL_ERRCLASS_CURL, "", (long)cc,
		                            "S3 %s: cannot reach %s: %s%s",
		                            req->what ? req->what : m, s3->endpoint,
		                            curl_easy_strerror(cc), hint);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		if (req->progress_step && (resp->status >= 200 && resp->status < 300)) {
			uint64_t end = req->progress_base +
			               (has_body ? (req->body_fd >= 0 ? req->body_size : req->body_len)
			                         : resp->content_length);
			if (end != t.last_progress)
				rc = tl__progress(s3->ctx, req->progress_step, end,
				                  req->progress_total ? req->progress_total : end);
		}
	}
	curl_slist_free_all(hdrs);
	/* The handle keeps pointers to our stack; drop them now. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	tl_buf_dispose(&url);
	if (rc)
		tl__s3_resp_dispose(resp);
	return rc;
}

void tl__s3_resp_dispose(tl__s3_resp *resp)
{
	if (resp)
		tl_buf_dispose(&resp->body);
}

int tl__s3_map_code(const char *code, long status)
{
	static const struct {
		const char *code;
		int result;
	} map[] = {
		{"InvalidAccessKeyId", TL_EAUTH},
		{"SignatureDoesNotMatch", TL_EAUTH},
		{"AccessDenied", TL_EAUTH},
		{"ExpiredToken", TL_EAUTH},
		{"InvalidToken", TL_EAUTH},
		{"RequestTimeTooSkewed", TL_EAUTH},
		{"AuthorizationHeaderMalformed", TL_EAUTH},
		{"NoSuchBucket", TL_ENOTFOUND},
		{"NoSuchKey", TL_ENOTFOUND},
		{"NoSuchBucketPolicy", TL_ENOTFOUND},
		{"NoSuchUpload", TL_ENOTFOUND},
		{"NotFound", TL_ENOTFOUND},
		{"BucketAlreadyExists", TL_ECONFLICT},
		{"BucketNotEmpty", TL_ECONFLICT},
		{"OperationAborted", TL_ECONFLICT},
		{"NotImplemented", TL_EUNSUPPORTED},
		{"MethodNotAllowed", TL_EUNSUPPORTED},
		{"InvalidBucketName", TL_EINVALID},
		{"InvalidArgument", TL_EINVALID},
		{"KeyTooLongError", TL_EINVALID},
		{"MalformedPolicy", TL_EINVALID},
		{"MalformedXML", TL_EINVALID},
		{"EntityTooSmall", TL_EINVALID},
		{"EntityTooLarge", TL_EINVALID},
		{"BadDigest", TL_EIO},
		{"InvalidDigest", TL_EIO},
		{"XAmzContentSHA256Mismatch", TL_EIO},
		{"IncompleteBody", TL_EIO},
		{"InvalidPart", TL_EIO},
		{"InvalidPartOrder", TL_EIO},
		{"SlowDown", TL_EUNAVAILABLE},
		{"ServiceUnavailable", TL_EUNAVAILABLE},
		{"InternalError", TL_EUNAVAILABLE},
		/* the IAM API */
		{"InvalidClientTokenId", TL_EAUTH},
		{"NoSuchEntity", TL_ENOTFOUND},
		{"EntityAlreadyExists", TL_EEXISTS},
		{"LimitExceeded", TL_ECONFLICT},
		{"DeleteConflict", TL_ECONFLICT},
		{"MalformedPolicyDocument", TL_EINVALID},
		{"ValidationError", TL_EINVALID},
	};
	for (size_t i = 0; code && i < TL__ARRAY_SIZE(map); i++)
		if (strcmp(code, map[i].code) == 0)
			return map[i].result;
	if (status == 401 || status == 403)
		return TL_EAUTH;
	if (status == 404)
		return TL_ENOTFOUND;
	if (status == 409)
		return TL_ECONFLICT;
	if (status == 501 || status == 405)
		return TL_EUNSUPPORTED;
	if (status >= 500)
		return TL_EUNAVAILABLE;
	return TL_ERROR;
}

int tl__s3_error_from(const tl__s3_resp *resp, const char *what, const char *bucket,
                      const char *key)
{
	tl_buf code = TL_BUF_INIT, msg = TL_BUF_INIT;
	const char *b = resp->body.ptr ? resp->body.ptr : "";
	const char *e = b + resp->body.size;
	const char *inner = NULL, *after = NULL;
	size_t ilen = 0;
	if (tl__s3_xml_find(b, e, "Error", &inner, &ilen, &after)) {
		tl__s3_xml_get(&code, inner, inner + ilen, "Code");
		tl__s3_xml_get(&msg, inner, inner + ilen, "Message");
	}
	if (!code.size) {
		/* HEAD answers have no body: name the status the S3 way. */
		const char *c = resp->status == 404 ? (key ? "NoSuchKey" : "NoSuchBucket")
		              : resp->status == 403 ? "AccessDenied"
		              : resp->status == 301 ? "PermanentRedirect"
		              : "";
		tl__buf_puts(&code, c);
	}
	int result = tl__s3_map_code(code.size ? code.ptr : NULL, resp->status);
	const char *hint = "";
	if (result == TL_EAUTH)
		hint = "; check TOWLION_S3_ACCESS_KEY, TOWLION_S3_SECRET_KEY and "
		       "TOWLION_S3_REGION";
	else if (resp->status == 301)
		hint = "; the bucket lives in another region: set TOWLION_S3_REGION";
	char status_text[16];
	snprintf(status_text, sizeof(status_text), "%ld", resp->status);
	tl__error_set_upstream(result, TL_ERRCLASS_S3, code.size ? code.ptr : status_text,
	                       resp->status, "S3 %s %s%s%s: %s%s%s (HTTP %ld)%s",
	                       what ? what : "request", bucket ? bucket : "",
	                       key ? "/" : "", key ? key : "",
	                       code.size ? code.ptr : "error", msg.size ? ": " : "",
	                       msg.size ? msg.ptr : "", resp->status, hint);
	tl_buf_dispose(&code);
	tl_buf_dispose(&msg);
	return result;
}

static const char *skip_space(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

static bool starts(const char *p, const char *e, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(e - p) >= n && memcmp(p, s, n) == 0;
}

bool tl__s3_body_is_error(const char *body, size_t len)
{
	if (!body || !len)
		return false;
	const char *e = body + len, *in, *af;
	size_t il;
	const char *head = skip_space(body, e);
	if (starts(head, e, "<?xml")) {
		const char *gt = memchr(head, '>', (size_t)(e - head));
		head = skip_space(gt ? gt + 1 : e, e);
	}
	return starts(head, e, "<Error") && tl__s3_xml_find(head, e, "Error", &in, &il, &af);
}

int tl__s3_do(tl_s3 *s3, tl__s3_resp *resp, const tl__s3_req *req)
{
	int rc = tl__s3_perform(s3, resp, req);
	if (rc)
		return rc;
	bool ok = resp->status >= 200 && resp->status < 300;
	/* CompleteMultipartUpload may answer 200 and then report an error in
	 * the body. */
	if (ok && !req->sink && tl__s3_body_is_error(resp->body.ptr, resp->body.size))
		ok = false;
	if (!ok) {
		rc = tl__s3_error_from(resp, req->what, req->bucket, req->key);
		tl__s3_resp_dispose(resp);
	}
	return rc;
}
