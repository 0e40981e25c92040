/* Fuzz Docker's log stream demultiplexer: any bytes, fed in any slicing,
 * give the same payload and the same verdict as when fed at once, and
 * never more payload than input. The first input byte picks TTY mode and
 * the slice sizes. */
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
		abort(); /* the demuxer never emits empty or unknown streams */
	return tl__buf_put(&c->streams[stream], d, len);
}

static int run(const uint8_t *data, size_t size, int raw, unsigned seed, collected *c)
{
	tl__docker_demux m;
	tl__docker_demux_init(&m, raw);
	size_t off = 0;
	while (off < size) {
		size_t step = seed ? 1 + (seed + off * 7) % 13 : size - off;
		if (step > size - off)
			step = size - off;
		int rc = tl__docker_demux_feed(&m, (const char *)data + off, step, collect, c);
		if (rc)
			return rc;
		off += step;
	}
	return tl__docker_demux_finish(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	int raw = data[0] & 1;
	unsigned seed = data[0] >> 1;
	collected whole = {0}, sliced = {0};
	int a = run(data + 1, size - 1, raw, 0, &whole);
	int b = run(data + 1, size - 1, raw, seed ? seed : 1, &sliced);
	if (a != b)
		abort();
	size_t total = 0;
	for (int i = 0; i < 4; i++) {
		total += whole.streams[i].size;
		/* on success both agree byte for byte; on a malformed header the
		 * sliced run may stop at the same frame too */
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
