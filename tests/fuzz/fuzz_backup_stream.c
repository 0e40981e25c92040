/* Fuzz the backup file reader (zstd or gzip, optionally in the encrypted
 * container: magic, key id, secretstream header, length-prefixed
 * records). A backup file comes back from offsite storage and may be cut,
 * damaged or forged: any bytes are either read to an end the format
 * vouches for or refused, in any read sizes, with the same verdict and
 * the same plain bytes; and whatever the writer writes, the reader gives
 * back exactly.
 *
 * First byte: bit 0 gzip (else zstd), bit 1 encrypted, bit 2 round trip
 * (the rest of the input is plain data for the writer), bits 3-7 the
 * read size. */
#include "backup/backup_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop reading a bomb here: the point is the parser, not the bytes. */
#define PLAIN_MAX (256u << 10)

static const unsigned char KEY[TL__BK_KEY_BYTES] = {
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42};

static int file_of(const void *p, size_t n)
{
	int fd = memfd_create("fuzz-backup", MFD_CLOEXEC);
	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

/* Read all of fd; the verdict, the plain bytes in *out. */
static int read_all(int fd, int gzip, int enc, size_t step, tl_buf *out)
{
	tl__bk_reader *r = NULL;
	int rc = tl__bk_reader_new(&r, fd, gzip ? TL__BK_GZIP : TL__BK_ZSTD, enc ? KEY : NULL);
	if (rc)
		abort();
	char *buf = malloc(step);
	for (;;) {
		size_t n = 0;
		if ((rc = tl__bk_reader_read(r, buf, step, &n)))
			break;
		if (n == 0)
			break;
		if (n > step)
			abort();
		if (out->size + n > PLAIN_MAX) {
			rc = 1; /* a bomb: not read on */
			break;
		}
		tl__buf_put(out, buf, n);
	}
	char sha[65];
	uint64_t nread = 0;
	tl__bk_reader_sha256(r, sha, &nread);
	if (strlen(sha) != 64)
		abort();
	free(buf);
	tl__bk_reader_free(r);
	return rc;
}

static void fuzz_reader(const uint8_t *p, size_t n, int gzip, int enc, size_t step)
{
	tl_buf a = TL_BUF_INIT, b = TL_BUF_INIT;
	int fa = file_of(p, n), fb = file_of(p, n);
	int ra = read_all(fa, gzip, enc, 1 << 16, &a);
	int rb = read_all(fb, gzip, enc, step, &b);
	if (ra != 1 && rb != 1) { /* both read to the end: one verdict, one text */
		if (ra != rb || (ra == TL_OK && (a.size != b.size ||
		                                 (a.size && memcmp(a.ptr, b.ptr, a.size)))))
			abort();
	}
	close(fa);
	close(fb);
	tl_buf_dispose(&a);
	tl_buf_dispose(&b);
}

static void fuzz_round_trip(const uint8_t *p, size_t n, int gzip, int enc, size_t step)
{
	int fd = memfd_create("fuzz-backup", MFD_CLOEXEC);
	tl__bk_writer *w = NULL;
	if (fd < 0 || tl__bk_writer_new(&w, fd, gzip ? TL__BK_GZIP : TL__BK_ZSTD, 1, 0,
	                                 enc ? KEY : NULL) != TL_OK)
		abort();
	/* written in two pieces, as a dump arrives */
	size_t half = n / 2;
	char sha[65];
	uint64_t written = 0;
	if (tl__bk_writer_write(w, p, half) || tl__bk_writer_write(w, p + half, n - half) ||
	    tl__bk_writer_finish(w, sha, &written) != TL_OK)
		abort();
	tl__bk_writer_free(w);
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	tl_buf back = TL_BUF_INIT;
	if (read_all(fd, gzip, enc, step, &back) != TL_OK || back.size != n ||
	    (n && memcmp(back.ptr, p, n)))
		abort();
	tl_buf_dispose(&back);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int gzip = data[0] & 1, enc = (data[0] >> 1) & 1;
	size_t step = 1 + (size_t)(data[0] >> 3) * 97;
	if (data[0] & 4)
		fuzz_round_trip(data + 1, size - 1, gzip, enc, step);
	else
		fuzz_reader(data + 1, size - 1, gzip, enc, step);
	return 0;
}
