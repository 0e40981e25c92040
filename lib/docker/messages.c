/* Docker's streamed JSON messages (build, push, pull): one message a
 * line, cut from whatever chunks the answer arrives in. A message longer
 * than the reader's bound is not Docker's usual: it is dropped (once
 * reported through on_dropped), so memory stays flat whatever is sent. */
#include "docker_int.h"

#include <string.h>

static int deliver(tl__docker_messages *m)
{
	int rc = TL_OK;
	if (!m->dropping && m->line.size)
		rc = m->on_message(m->payload, m->line.ptr, m->line.size);
	m->dropping = 0;
	tl__buf_clear(&m->line);
	return rc;
}

int tl__docker_messages_put(tl__docker_messages *m, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		int rc = TL_OK;
		if (!m->dropping && m->line.size + n > m->max) {
			m->dropping = 1;
			tl__buf_clear(&m->line);
			if (m->on_dropped)
				rc = m->on_dropped(m->payload);
		} else if (!m->dropping) {
			rc = tl__buf_put(&m->line, data, n);
		}
		if (rc == TL_OK && nl)
			rc = deliver(m);
		if (rc || !nl)
			return rc;
		data = nl + 1;
		len -= n + 1;
	}
	return TL_OK;
}

int tl__docker_messages_end(tl__docker_messages *m)
{
	return deliver(m);
}

void tl__docker_messages_dispose(tl__docker_messages *m)
{
	tl_buf_dispose(&m->line);
}
