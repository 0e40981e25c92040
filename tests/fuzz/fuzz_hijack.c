/* Fuzz the answer to a hijacked exec start (Docker's HTTP headers, then
 * the multiplexed output or an error body): any bytes, fed in any
 * slicing, give the same payload and the same verdict as when fed at
 * once, never more payload than input, and an error status is never read
 * as output. The first input byte picks TTY mode and the slice sizes. */
#include "docker/docker_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	tl_buf streams[4];
} collected;

static int collect(int stream, const char *d, size_t len, void *p)
{
	collected *c = p;
	if (stream < 0 || stream > 3 || len == 0)
		abort();
	return tl__buf_put(&c->streams[stream], d, len);
}

static int run(const uint8_t *data, size_t size, int raw, unsigned seed, collected *c,
               int *status)
{
	tl__docker_hijack h;
	tl__docker_hijack_init(&h, raw);
	size_t off = 0;
	int rc = TL_OK;
	while (!rc && off < size) {
		size_t step = seed ? 1 + (seed + off * 7) % 13 : size - off;
		if (step > size - off)
			step = size - off;
		rc = tl__docker_hijack_feed(&h, (const char *)data + off, step, collect, c, "fuzz");
		off += step;
	}
	if (!rc)
		rc = tl__docker_hijack_finish(&h, "fuzz");
	*status = h.status;
	if (h.head.size > 65536 + 8192) /* kept bounded, whatever comes */
		abort();
	tl__docker_hijack_dispose(&h);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	int raw = data[0] & 1;
	unsigned seed = data[0] >> 1;
	collected whole = {0}, sliced = {0};
	int sw = 0, ss = 0;
	int a = run(data + 1, size - 1, raw, 0, &whole, &sw);
	int b = run(data + 1, size - 1, raw, seed ? seed : 1, &sliced, &ss);
	if (a != b || sw != ss)
		abort();
	size_t total = 0;
	for (int i = 0; i < 4; i++) {
		total += whole.streams[i].size;
		if (whole.streams[i].size && sw != 101 && sw != 200)
			abort(); /* an error answer's body is no output */
		if (a == TL_OK && (whole.streams[i].size != sliced.streams[i].size ||
		                   (whole.streams[i].size &&
		                    memcmp(whole.streams[i].ptr, sliced.streams[i].ptr,
		                           whole.streams[i].size))))
			abort();
		tl_buf_dispose(&whole.streams[i]);
		tl_buf_dispose(&sliced.streams[i]);
	}
	if (total > size - 1)
		abort();
	return 0;
}
