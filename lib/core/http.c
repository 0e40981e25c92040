/* The shared libcurl client: one request, buffered or streamed. */
#include "http.h"

#include <curl/curl.h>
#include <string.h>
#include <strings.h>

typedef struct {
	tl_ctx *ctx;
	const tl__http_req *req;
	tl__http_resp *resp;
	int rc; /* first failure raised inside a callback */
} transfer;

static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	transfer *t = p;
	size_t len = size * nmemb;
	size_t max = t->req->max_body ? t->req->max_body : TL__HTTP_MAX_BODY;
	int rc;
	if (t->req->sink)
		rc = t->req->sink(data, len, t->req->sink_payload);
	else if (t->resp->body.size + len > max)
		rc = tl__error_set(TL_EIO, t->req->klass,
		                   "the answer of %s at %s is larger than %zu bytes (the limit)",
		                   t->req->service ? t->req->service : "the server", t->req->url,
		                   max);
	else
		rc = tl__buf_put(&t->resp->body, data, len);
	if (rc) {
		t->rc = rc;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	transfer *t = p;
	size_t len = size * nmemb;
	/* A status line starts a new response (after a 100 Continue, say):
	 * only the last response's headers are kept. */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0)
		tl__buf_clear(&t->resp->headers);
	if (t->resp->headers.size + len > TL__HTTP_MAX_HEADERS) {
		t->rc = tl__error_set(TL_EIO, t->req->klass,
		                      "the headers of %s's answer at %s are larger than %u bytes "
		                      "(the limit)", t->req->service ? t->req->service : "the server",
		                      t->req->url, (unsigned)TL__HTTP_MAX_HEADERS);
		return 0;
	}
	if (tl__buf_put(&t->resp->headers, data, len)) {
		t->rc = TL_ENOMEM;
		return 0;
	}
	return len;
}

static int on_progress(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	transfer *t = p;
	if (tl__cancelled(t->ctx)) {
		t->rc = TL_EUSER;
		return 1;
	}
	return 0;
}

int tl__http_do(tl_ctx *ctx, tl__http_resp *resp, const tl__http_req *req)
{
	TL__CHECK_ARG(resp && req && req->url);
	memset(resp, 0, sizeof(*resp));
	const char *service = req->service ? req->service : "server";
	CURL *c = curl_easy_init();
	if (!c)
		return tl__error_set(TL_ENOMEM, TL_ERRCLASS_CURL, "curl_easy_init failed");
	transfer t = {ctx, req, resp, TL_OK};
	struct curl_slist *hdrs = NULL;
	for (const char *const *h = req->headers; h && *h; h++) {
		struct curl_slist *n = curl_slist_append(hdrs, *h);
		if (!n) {
			curl_slist_free_all(hdrs);
			curl_easy_cleanup(c);
			return tl__error_oom();
		}
		hdrs = n;
	}
	const char *method = req->method ? req->method : "GET";
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (req->unix_socket)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (req->userpwd)
		curl_easy_setopt(c, CURLOPT_USERPWD, req->userpwd);
	if (req->aws_sigv4)
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, req->aws_sigv4);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 req->connect_timeout_ms ? req->connect_timeout_ms : 5000L);
	if (req->timeout_ms > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	if (req->share)
		curl_easy_setopt(c, CURLOPT_SHARE, (CURLSH *)req->share);
	if (req->capture_headers) {
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
	}
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);

	CURLcode cc = curl_easy_perform(c);
	int rc = TL_OK;
	if (t.rc) {
		rc = t.rc; /* error already set by the callback */
	} else if (cc != CURLE_OK) {
		int code = TL_EIO;
		const char *hint = "";
		if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
		    cc == CURLE_COULDNT_RESOLVE_PROXY) {
			code = TL_EUNAVAILABLE;
			hint = "; is it running, and is the address in the configuration right?";
		} else if (cc == CURLE_OPERATION_TIMEDOUT) {
			code = TL_ETIMEOUT;
		}
		rc = tl__error_set_upstream(code, req->klass, "", (long)cc,
		                            "cannot reach %s at %s%s: %s%s", service,
		                            req->unix_socket ? "unix socket " : "",
		                            req->unix_socket ? req->unix_socket : req->url,
		                            curl_easy_strerror(cc), hint);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (rc)
		tl__http_resp_dispose(resp);
	return rc;
}

void tl__http_resp_dispose(tl__http_resp *resp)
{
	if (resp) {
		tl__buf_dispose_secret(&resp->body);
		tl__buf_dispose_secret(&resp->headers);
	}
}

int tl__http_resp_header(tl_buf *out, const tl__http_resp *resp, const char *name)
{
	size_t nl = strlen(name);
	const char *p = resp->headers.ptr, *end = p ? p + resp->headers.size : NULL;
	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end;
		if ((size_t)(next - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *ve = eol ? eol : end;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			return tl__buf_set(out, v, (size_t)(ve - v));
		}
		p = next;
	}
	return TL_ENOTFOUND;
}
