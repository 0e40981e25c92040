/* Digests for S3: SHA-256 (tl__sha256) for the signed payload hash, and MD5
 * for Content-MD5 and ETags, both from OpenSSL's libcrypto (EVP), which libcurl,
 * libpq and libssh2 already bring into the process. MD5 is used only to
 * detect accidental corruption, never for security. */
#include "s3_internal.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_BLOCK (1u << 20)

struct tl__md5 {
	EVP_MD_CTX *evp;
};

/* A failure of libcrypto, with its own reason as the upstream text. */
static int crypto_error(const char *what)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return tl__error_set_upstream(TL_ERROR, TL_ERRCLASS_S3, reason ? reason : "",
	                              (long)e,
	                              "MD5 %s failed in OpenSSL's libcrypto (is MD5 disabled, "
	                              "e.g. by a FIPS-only configuration?)",
	                              what);
}

int tl__md5_new(tl__md5 **out)
{
	tl__md5 *m = tl__calloc(1, sizeof(*m));
	if (!m)
		return TL_ENOMEM;
	if (!(m->evp = EVP_MD_CTX_new())) {
		free(m);
		return tl__error_oom();
	}
	if (EVP_DigestInit_ex(m->evp, EVP_md5(), NULL) != 1) {
		tl__md5_free(m);
		return crypto_error("setup");
	}
	*out = m;
	return TL_OK;
}

int tl__md5_update(tl__md5 *m, const void *data, size_t len)
{
	return EVP_DigestUpdate(m->evp, data, len) == 1 ? TL_OK : crypto_error("update");
}

int tl__md5_final(tl__md5 *m, unsigned char out[16])
{
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(m->evp, out, &n) != 1 || n != 16)
		return crypto_error("final");
	return TL_OK;
}

void tl__md5_free(tl__md5 *m)
{
	if (!m)
		return;
	EVP_MD_CTX_free(m->evp);
	free(m);
}

int tl__md5_of(unsigned char out[16], const void *data, size_t len)
{
	unsigned int n = 0;
	if (EVP_Digest(data, len, out, &n, EVP_md5(), NULL) != 1 || n != 16)
		return crypto_error("digest");
	return TL_OK;
}

int tl__s3_hash_file_range(char sha_hex[65], unsigned char md5[16], tl_ctx *ctx, int fd,
                           uint64_t offset, uint64_t size, const char *path)
{
	unsigned char *buf = tl__malloc(HASH_BLOCK);
	if (!buf)
		return TL_ENOMEM;
	tl__md5 *m = NULL;
	int rc = tl__md5_new(&m);
	if (rc) {
		free(buf);
		return rc;
	}
	tl__sha256 *sha = NULL;
	rc = tl__sha256_new(&sha);
	uint64_t done = 0;
	while (!rc && done < size) {
		size_t want = size - done < HASH_BLOCK ? (size_t)(size - done) : HASH_BLOCK;
		ssize_t n = pread(fd, buf, want, (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = tl__error_os(TL_EIO, errno, "cannot read %s", path);
		else if (n == 0)
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_OS, "%s shrank while it was read", path);
		else {
			rc = tl__sha256_update(sha, buf, (size_t)n);
			if (!rc)
				rc = tl__md5_update(m, buf, (size_t)n);
			done += (uint64_t)n;
			if (!rc)
				rc = tl__cancelled(ctx);
		}
	}
	free(buf);
	if (!rc)
		rc = tl__md5_final(m, md5);
	if (!rc)
		rc = tl__sha256_hex_so_far(sha_hex, sha);
	tl__md5_free(m);
	tl__sha256_free(sha);
	return rc;
}
