/* What the deploy benches' HTTP clients share (bench_deploy.c,
 * bench_keepalive.c). */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H

#include <string.h>

/* curl's write callback: the first 255 bytes of the body into `u`, a
 * NUL-terminated buffer of 256 that starts empty. */
static size_t sink(char *p, size_t s, size_t n, void *u)
{
	char *buf = u;
	size_t len = s * n, have = strlen(buf);
	if (have + len < 255) {
		memcpy(buf + have, p, len);
		buf[have + len] = '\0';
	}
	return len;
}

#endif
