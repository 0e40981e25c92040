/* Digests for S3: SHA-256 (libsodium) for the signed payload hash, and MD5
 * for Content-MD5 and ETags. libsodium has no MD5, and S3 needs nothing
 * more than RFC 1321, so it is here: MD5 is used only to detect accidental
 * corruption, never for security. */
#include "s3_internal.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#define HASH_BLOCK (1u << 20)

static const uint32_t K[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
	0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
	0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
	0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
	0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
	0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
	0xeb86d391};
static const unsigned char R[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                    5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static void md5_block(tl__md5 *m, const unsigned char *p)
{
	uint32_t w[16];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 |
		       (uint32_t)p[i * 4 + 2] << 16 | (uint32_t)p[i * 4 + 3] << 24;
	uint32_t a = m->a, b = m->b, c = m->c, d = m->d;
	for (int i = 0; i < 64; i++) {
		uint32_t f;
		int g;
		if (i < 16)
			f = (b & c) | (~b & d), g = i;
		else if (i < 32)
			f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
		else if (i < 48)
			f = b ^ c ^ d, g = (3 * i + 5) % 16;
		else
			f = c ^ (b | ~d), g = (7 * i) % 16;
		uint32_t t = d;
		d = c;
		c = b;
		uint32_t x = a + f + K[i] + w[g];
		b = b + ((x << R[i]) | (x >> (32 - R[i])));
		a = t;
	}
	m->a += a, m->b += b, m->c += c, m->d += d;
}

void tl__md5_init(tl__md5 *m)
{
	memset(m, 0, sizeof(*m));
	m->a = 0x67452301, m->b = 0xefcdab89, m->c = 0x98badcfe, m->d = 0x10325476;
}

void tl__md5_update(tl__md5 *m, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t have = (size_t)(m->len % 64);
	m->len += len;
	if (have) {
		size_t take = 64 - have < len ? 64 - have : len;
		memcpy(m->buf + have, p, take);
		p += take, len -= take, have += take;
		if (have < 64)
			return;
		md5_block(m, m->buf);
	}
	for (; len >= 64; p += 64, len -= 64)
		md5_block(m, p);
	memcpy(m->buf, p, len);
}

void tl__md5_final(tl__md5 *m, unsigned char out[16])
{
	uint64_t bits = m->len * 8;
	unsigned char pad[72] = {0x80};
	size_t have = (size_t)(m->len % 64);
	size_t padlen = have < 56 ? 56 - have : 120 - have;
	unsigned char lenb[8];
	for (int i = 0; i < 8; i++)
		lenb[i] = (unsigned char)(bits >> (8 * i));
	tl__md5_update(m, pad, padlen);
	tl__md5_update(m, lenb, 8);
	uint32_t v[4] = {m->a, m->b, m->c, m->d};
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			out[i * 4 + j] = (unsigned char)(v[i] >> (8 * j));
}

int tl__s3_hash_file_range(char sha_hex[65], unsigned char md5[16], tl_ctx *ctx, int fd,
                           uint64_t offset, uint64_t size, const char *path)
{
	unsigned char *buf = tl__malloc(HASH_BLOCK);
	if (!buf)
		return TL_ENOMEM;
	crypto_hash_sha256_state sha;
	crypto_hash_sha256_init(&sha);
	tl__md5 m;
	tl__md5_init(&m);
	uint64_t done = 0;
	int rc = TL_OK;
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
			crypto_hash_sha256_update(&sha, buf, (unsigned long long)n);
			tl__md5_update(&m, buf, (size_t)n);
			done += (uint64_t)n;
			rc = tl__cancelled(ctx);
		}
	}
	free(buf);
	if (rc)
		return rc;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&sha, h);
	tl__hex(sha_hex, h, sizeof(h));
	tl__md5_final(&m, md5);
	return TL_OK;
}
