/* A small HTTP client on libcurl shared by the modules (internal). */
#ifndef TL_CORE_HTTP_H
#define TL_CORE_HTTP_H

#include "core.h"

/* Called with each chunk of the response body when streaming; return
 * TL_OK to go on, or a tl_result (error already set) to stop. */
typedef int (*tl__http_sink)(const char *data, size_t len, void *payload);

typedef struct {
	const char *method;          /* "GET" when NULL */
	const char *url;             /* for a unix socket: http://localhost/path */
	const char *unix_socket;     /* path, or NULL for TCP */
	const char *const *headers;  /* "Name: value", NULL terminated, or NULL */
	const void *body;            /* request body, or NULL */
	size_t body_len;
	long timeout_ms;             /* whole transfer; 0: none */
	long connect_timeout_ms;     /* 0: 5000 */
	const char *service;         /* for messages: "Docker", "Caddy admin API" */
	int klass;                   /* tl_error_class for failures */
	tl__http_sink sink;          /* stream the body here instead of buffering */
	void *sink_payload;
	const char *userpwd;         /* "user:password" (basic or SigV4 keys) */
	const char *aws_sigv4;       /* e.g. "aws:amz:us-east-1:s3" */
	int capture_headers;         /* keep the response headers in resp->headers */
	void *share;                 /* a CURLSH* to take connections (keep-alive),
	                                DNS and TLS sessions from, or NULL */
	size_t max_body;             /* most bytes of a buffered body; 0:
	                                TL__HTTP_MAX_BODY. Past it: TL_EIO */
} tl__http_req;

/* The default cap on a buffered response body: an answer is read into
 * memory only up to this (docs/security.md, "Limits on untrusted input"). */
#define TL__HTTP_MAX_BODY ((size_t)32 << 20)
/* ... and on the response headers kept with capture_headers. */
#define TL__HTTP_MAX_HEADERS (1u << 20)

typedef struct {
	long status;
	tl_buf body; /* unless streamed */
	tl_buf headers; /* the final response's header lines, with capture_headers */
} tl__http_resp;

/* Perform a request. TL_OK means an HTTP answer arrived, whatever its
 * status; transport failures map to TL_EUNAVAILABLE (cannot connect),
 * TL_ETIMEOUT, TL_EUSER (cancelled through ctx) or TL_EIO. */
int tl__http_do(tl_ctx *ctx, tl__http_resp *resp, const tl__http_req *req);
void tl__http_resp_dispose(tl__http_resp *resp);
/* The value of response header `name` (case-insensitive; the first one,
 * trimmed) from resp->headers: TL_OK, or TL_ENOTFOUND without setting an
 * error when the answer has no such header. */
int tl__http_resp_header(tl_buf *out, const tl__http_resp *resp, const char *name);

#endif
