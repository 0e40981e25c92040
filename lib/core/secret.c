/* Random secrets from the kernel's CSPRNG. */
#include "core.h"

#include <errno.h>
#include <sys/random.h>

int tl__secret_generate(char *out, size_t len)
{
	/* 64 symbols: a byte masked to 6 bits picks one without bias. */
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[64];
	size_t done = 0;
	while (done < len) {
		size_t want = len - done < sizeof(raw) ? len - done : sizeof(raw);
		ssize_t n = getrandom(raw, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tl__error_os(TL_EIO, errno, "getrandom failed");
		for (ssize_t i = 0; i < n; i++)
			out[done++] = alphabet[raw[i] & 63];
	}
	out[len] = '\0';
	volatile unsigned char *v = raw;
	for (size_t i = 0; i < sizeof(raw); i++)
		v[i] = 0;
	return TL_OK;
}
