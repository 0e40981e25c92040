/* Docker's multiplexed stdout/stderr stream, as a state machine that can
 * be fed any slice of the stream, and a line splitter for events.
 *
 * A frame is an 8-byte header {stream, 0, 0, 0, size as big-endian u32}
 * and `size` bytes of payload. Reads split frames anywhere, frames may be
 * empty, and TTY containers send no frames at all (raw mode). */
#include "docker_int.h"

#include <stdlib.h>
#include <string.h>

void tl__docker_demux_init(tl__docker_demux *m, int raw)
{
	memset(m, 0, sizeof(*m));
	m->raw = raw;
}

int tl__docker_demux_feed(tl__docker_demux *m, const char *data, size_t len,
                          tl__docker_demux_emit emit, void *payload)
{
	if (m->raw)
		return len ? emit(DK_STDOUT, data, len, payload) : TL_OK;
	while (len > 0) {
		if (m->remaining == 0) {
			size_t take = 8 - m->hdr_len;
			if (take > len)
				take = len;
			memcpy(m->hdr + m->hdr_len, data, take);
			m->hdr_len += take;
			data += take;
			len -= take;
			if (m->hdr_len < 8)
				return TL_OK;
			m->hdr_len = 0;
			if (m->hdr[0] > DK_SYSERR || m->hdr[1] || m->hdr[2] || m->hdr[3])
				return tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
				                     "malformed Docker stream: bad frame header "
				                     "%02x %02x %02x %02x (is the container a TTY?)",
				                     m->hdr[0], m->hdr[1], m->hdr[2], m->hdr[3]);
			m->stream = m->hdr[0];
			m->remaining = (uint32_t)m->hdr[4] << 24 | (uint32_t)m->hdr[5] << 16 |
			               (uint32_t)m->hdr[6] << 8 | (uint32_t)m->hdr[7];
			continue; /* a zero-length frame simply ends here */
		}
		size_t take = m->remaining < len ? m->remaining : len;
		int rc = emit(m->stream, data, take, payload);
		if (rc)
			return rc;
		m->remaining -= (uint32_t)take;
		data += take;
		len -= take;
	}
	return TL_OK;
}

int tl__docker_demux_finish(const tl__docker_demux *m)
{
	if (!m->raw && (m->hdr_len || m->remaining))
		return tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                     "Docker stream ended inside a frame (%zu header bytes, "
		                     "%u payload bytes missing)", m->hdr_len, m->remaining);
	return TL_OK;
}

/* ---- lines to events ---- */

static int emit_line(tl__docker_lines *l, int stream, const char *s, size_t n)
{
	if (n && s[n - 1] == '\r')
		n--;
	char *line = tl__strndup(s, n);
	if (!line)
		return TL_ENOMEM;
	int rc = tl__output(l->ctx, stream == DK_STDOUT ? TL_LOG_INFO
	                            : stream == DK_STDERR ? TL_LOG_WARN
	                                                  : TL_LOG_ERROR,
	                    l->subject, line);
	free(line);
	return rc;
}

/* A line that reached DK_LINE_MAX: its first bytes (not splitting a UTF-8
 * character) and a mark, as one event; the rest of it is dropped. */
static int emit_cut(tl__docker_lines *l, int stream, tl_buf *p)
{
	size_t n = p->size;
	for (int k = 0; k < 3 && n && ((unsigned char)p->ptr[n - 1] & 0xC0) == 0x80; k++)
		n--;
	if (n && (unsigned char)p->ptr[n - 1] >= 0xC0)
		n--; /* the lead byte of the character that did not fit */
	p->size = n;
	int rc = tl__buf_printf(p, " [... line cut: longer than %u bytes]", DK_LINE_MAX);
	if (!rc)
		rc = emit_line(l, stream, p->ptr, p->size);
	tl__buf_clear(p);
	return rc;
}

int tl__docker_lines_put(tl__docker_lines *l, int stream, const char *data, size_t len)
{
	int i = stream == DK_STDERR ? 1 : stream == DK_SYSERR ? 2 : 0;
	tl_buf *p = &l->pending[i];
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		int rc = TL_OK;
		if (l->cutting[i]) {
			/* the rest of a line already cut: dropped, memory stays flat */
		} else if (p->size + n > DK_LINE_MAX) {
			size_t room = DK_LINE_MAX - p->size;
			if (!(rc = tl__buf_put(p, data, room)))
				rc = emit_cut(l, stream, p);
			l->cutting[i] = 1;
		} else if (!nl) {
			return tl__buf_put(p, data, len);
		} else if (p->size) {
			if (!(rc = tl__buf_put(p, data, n)))
				rc = emit_line(l, stream, p->ptr, p->size);
			tl__buf_clear(p);
		} else {
			rc = emit_line(l, stream, data, n);
		}
		if (rc)
			return rc;
		if (!nl)
			return TL_OK;
		l->cutting[i] = 0;
		data = nl + 1;
		len -= n + 1;
	}
	return TL_OK;
}

int tl__docker_lines_flush(tl__docker_lines *l)
{
	static const int streams[3] = {DK_STDOUT, DK_STDERR, DK_SYSERR};
	int rc = TL_OK;
	for (int i = 0; i < 3; i++) {
		if (l->pending[i].size && rc == TL_OK)
			rc = emit_line(l, streams[i], l->pending[i].ptr, l->pending[i].size);
		tl_buf_dispose(&l->pending[i]);
		l->cutting[i] = 0;
	}
	return rc;
}

void tl__docker_lines_dispose(tl__docker_lines *l)
{
	for (int i = 0; i < 3; i++)
		tl_buf_dispose(&l->pending[i]);
}
