/* The answer to a hijacked request (POST /exec/{id}/start), read as it
 * arrives: the HTTP status line and headers, then either the command's
 * multiplexed output (101 or 200) or an error body whose JSON says why.
 * Pure (no socket), so that it can be fed any slicing and fuzzed. */
#include "docker_int.h"

#include <stdlib.h>
#include <string.h>

/* Headers and the start of an error body are kept up to this size. */
#define HIJACK_HEAD_MAX 65536

void tl__docker_hijack_init(tl__docker_hijack *h, int raw)
{
	memset(h, 0, sizeof(*h));
	tl__docker_demux_init(&h->m, raw);
	h->in_headers = 1;
}

void tl__docker_hijack_dispose(tl__docker_hijack *h)
{
	tl_buf_dispose(&h->head);
}

static int streaming(const tl__docker_hijack *h)
{
	return h->status == 101 || h->status == 200;
}

/* The end of the header block in [p, p+n): the byte after "\r\n\r\n". A
 * NUL in a header does not hide the end (strstr would stop there). */
static const char *headers_end(const char *p, size_t n)
{
	for (const char *c = p; n >= 4 && (c = memchr(c, '\r', n - (size_t)(c - p) - 3));
	     c++)
		if (!memcmp(c, "\r\n\r\n", 4))
			return c + 4;
	return NULL;
}

/* "HTTP/1.x NNN ...": the status, or 0. */
static int status_of(const char *line, size_t n)
{
	if (n < 12 || memcmp(line, "HTTP/1.", 7) || line[7] < '0' || line[7] > '9' ||
	    line[8] != ' ')
		return 0;
	int s = 0;
	for (size_t i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return 0;
		s = s * 10 + (line[i] - '0');
	}
	return s >= 100 ? s : 0;
}

int tl__docker_hijack_feed(tl__docker_hijack *h, const char *data, size_t len,
                           tl__docker_demux_emit emit, void *payload, const char *what)
{
	if (len == 0)
		return TL_OK;
	if (!h->in_headers) {
		if (streaming(h))
			return tl__docker_demux_feed(&h->m, data, len, emit, payload);
		size_t room = HIJACK_HEAD_MAX - h->head.size; /* an error answer: its start says why */
		return tl__buf_put(&h->head, data, len < room ? len : room);
	}
	/* Look for the end only where it can newly be: the last 3 bytes kept
	 * and the new ones (a scan of everything per read would be quadratic). */
	size_t from = h->head.size > 3 ? h->head.size - 3 : 0;
	int rc = tl__buf_put(&h->head, data, len);
	if (rc)
		return rc;
	const char *end = headers_end(h->head.ptr + from, h->head.size - from);
	if (!end) {
		if (h->head.size > HIJACK_HEAD_MAX)
			return tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
			                     "%s: Docker's answer headers are larger than %d bytes "
			                     "(the limit)", what, HIJACK_HEAD_MAX);
		return TL_OK;
	}
	h->in_headers = 0;
	if (!(h->status = status_of(h->head.ptr, h->head.size)))
		return tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER, "%s: not an HTTP answer", what);
	size_t hl = (size_t)(end - h->head.ptr);
	size_t rest = h->head.size - hl;
	if (streaming(h)) {
		tl_buf after = h->head;
		h->head = (tl_buf)TL_BUF_INIT;
		rc = rest ? tl__docker_demux_feed(&h->m, after.ptr + hl, rest, emit, payload) : TL_OK;
		tl_buf_dispose(&after);
		return rc;
	}
	if (rest > HIJACK_HEAD_MAX)
		rest = HIJACK_HEAD_MAX;
	memmove(h->head.ptr, end, rest);
	h->head.size = rest;
	h->head.ptr[rest] = '\0';
	return TL_OK;
}

int tl__docker_hijack_finish(tl__docker_hijack *h, const char *what)
{
	if (h->in_headers)
		return tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER, "%s: Docker closed the connection",
		                     what);
	if (!streaming(h)) {
		/* the body may be chunked: find the JSON object in it */
		const char *b = h->head.ptr ? h->head.ptr : "";
		const char *brace = memchr(b, '{', h->head.size);
		const char *last = NULL;
		for (const char *c = brace; c && c < b + h->head.size; c++)
			if (*c == '}')
				last = c;
		return tl__docker_error(h->status, brace, brace && last ? (size_t)(last - brace + 1) : 0,
		                what);
	}
	return tl__docker_demux_finish(&h->m);
}
