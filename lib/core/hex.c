/* Lowercase hex of binary data, and the SHA-256 digest in that form. */
#include "core.h"

#include <openssl/evp.h>
#include <stdlib.h>
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
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	/* Cannot fail for SHA-256 short of memory; an empty digest then
	 * matches nothing. */
	if (EVP_Digest(data, len, h, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		out[0] = '\0';
		return;
	}
	tl__hex(out, h, 32);
}

struct tl__sha256 {
	EVP_MD_CTX *md;
};

int tl__sha256_new(tl__sha256 **out)
{
	tl__sha256 *s = tl__calloc(1, sizeof(*s));
	if (!s || !(s->md = EVP_MD_CTX_new())) {
		free(s);
		return tl__error_oom();
	}
	if (EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
		tl__sha256_free(s);
		return tl__error_set(TL_ERROR, TL_ERRCLASS_NONE,
		                     "SHA-256 is not available from OpenSSL's libcrypto");
	}
	*out = s;
	return TL_OK;
}

int tl__sha256_update(tl__sha256 *sha, const void *data, size_t len)
{
	return EVP_DigestUpdate(sha->md, data, len) == 1
	               ? TL_OK
	               : tl__error_set(TL_ERROR, TL_ERRCLASS_NONE, "SHA-256 failed in libcrypto");
}

int tl__sha256_hex_so_far(char out[65], const tl__sha256 *sha)
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok = copy && EVP_MD_CTX_copy_ex(copy, sha->md) == 1 &&
	         EVP_DigestFinal_ex(copy, d, &n) == 1 && n == 32;
	EVP_MD_CTX_free(copy);
	if (!ok) {
		out[0] = '\0';
		return tl__error_set(TL_ERROR, TL_ERRCLASS_NONE, "SHA-256 failed in libcrypto");
	}
	tl__hex(out, d, 32);
	return TL_OK;
}

void tl__sha256_free(tl__sha256 *sha)
{
	if (!sha)
		return;
	EVP_MD_CTX_free(sha->md);
	free(sha);
}
