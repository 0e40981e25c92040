/* Lowercase hex of binary data, and the SHA-256 digest in that form. */
#include "core.h"

#include <sodium.h>
#include <string.h>

void tl__hex(char *out, const void *bin, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = bin;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

void tl__sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	tl__hex(out, h, sizeof(h));
}
