/*
 * The bytes of a backup file: compression (zstd or gzip), optional
 * encryption (libsodium secretstream, XChaCha20-Poly1305) and the SHA-256
 * of what lands on disk, as a writer and a reader.
 *
 * The SHA-256 is OpenSSL's (libcrypto, already in the process through
 * libcurl and libpq): it uses the CPU's SHA extensions where there are
 * any, about 4x libsodium's portable code here (1.2 against 0.3 GB/s),
 * and hashing every byte of the file was a quarter of a backup's CPU.
 *
 * Unencrypted files are a plain zstd or gzip stream, so `zstd -dc` and
 * `gunzip -c` read them. The reader reports a truncated, corrupted or
 * tampered stream, or the wrong key, and returns end-of-stream only when
 * the stream ended where its format says it ends (zstd frame end with its
 * content checksum, gzip trailer with CRC, secretstream FINAL tag).
 */
#include "backup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define OUT_BUF (1024 * 1024)
#define CIPHER_MAX (TL__BK_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)

static void key_id(unsigned char id[TL__BK_KEYID_LEN], const unsigned char *key)
{
	unsigned char h[16];
	crypto_generichash(h, sizeof(h), key, TL__BK_KEY_BYTES,
	                   (const unsigned char *)"towlion-backup-key-id", 21);
	memcpy(id, h, TL__BK_KEYID_LEN);
}

/* ================================================================ writer */

struct tl__bk_writer {
	int fd;
	int compression;
	ZSTD_CCtx *zc;
	z_stream gz;
	int gz_live;
	/* encryption */
	int encrypt;
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char *plain; /* TL__BK_CHUNK */
	size_t plain_len;
	unsigned char *cipher; /* 4 + CIPHER_MAX */
	/* output */
	unsigned char *zbuf; /* compressor output */
	size_t zbuf_cap;
	unsigned char *obuf; /* buffered file writes */
	size_t olen;
	tl__sha256 *sha;
	uint64_t written;
	uint64_t flushed;    /* bytes handed to write() */
	uint64_t writeback;  /* bytes whose writeback was started */
	int failed;
};

static int sink_flush(tl__bk_writer *w)
{
	size_t off = 0;
	while (off < w->olen) {
		ssize_t n = write(w->fd, w->obuf + off, w->olen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tl__error_os(TL_EIO, errno, "cannot write the backup file");
		off += (size_t)n;
	}
	w->flushed += w->olen;
	w->olen = 0;
	/* Start writing back what is written so far, so the final fsync has
	 * little left to do (best effort; not all files support it). */
	if (w->flushed - w->writeback >= 8u * OUT_BUF) {
		sync_file_range(w->fd, (off64_t)w->writeback, (off64_t)(w->flushed - w->writeback),
		                SYNC_FILE_RANGE_WRITE);
		w->writeback = w->flushed;
	}
	return TL_OK;
}

/* Bytes as they go to disk: hashed and buffered. */
static int sink(tl__bk_writer *w, const unsigned char *p, size_t len)
{
	int rc = tl__sha256_update(w->sha, p, len);
	if (rc)
		return rc;
	w->written += len;
	while (len) {
		size_t take = OUT_BUF - w->olen;
		if (take > len)
			take = len;
		memcpy(w->obuf + w->olen, p, take);
		w->olen += take;
		p += take;
		len -= take;
		if (w->olen == OUT_BUF && (rc = sink_flush(w)))
			return rc;
	}
	return TL_OK;
}

static int seal_chunk(tl__bk_writer *w, unsigned char tag)
{
	unsigned long long clen = 0;
	crypto_secretstream_xchacha20poly1305_push(&w->st, w->cipher + 4, &clen, w->plain,
	                                           w->plain_len, NULL, 0, tag);
	w->cipher[0] = (unsigned char)(clen >> 24);
	w->cipher[1] = (unsigned char)(clen >> 16);
	w->cipher[2] = (unsigned char)(clen >> 8);
	w->cipher[3] = (unsigned char)clen;
	w->plain_len = 0;
	return sink(w, w->cipher, (size_t)clen + 4);
}

/* Compressed bytes: encrypted in records, or straight to the sink. */
static int emit(tl__bk_writer *w, const unsigned char *p, size_t len)
{
	if (!w->encrypt)
		return sink(w, p, len);
	while (len) {
		size_t take = TL__BK_CHUNK - w->plain_len;
		if (take > len)
			take = len;
		memcpy(w->plain + w->plain_len, p, take);
		w->plain_len += take;
		p += take;
		len -= take;
		if (w->plain_len == TL__BK_CHUNK) {
			int rc = seal_chunk(w, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
			if (rc)
				return rc;
		}
	}
	return TL_OK;
}

void tl__bk_writer_free(tl__bk_writer *w)
{
	if (!w)
		return;
	ZSTD_freeCCtx(w->zc);
	if (w->gz_live)
		deflateEnd(&w->gz);
	sodium_memzero(&w->st, sizeof(w->st));
	tl__sha256_free(w->sha);
	free(w->plain);
	free(w->cipher);
	free(w->zbuf);
	free(w->obuf);
	free(w);
}

int tl__bk_writer_new(tl__bk_writer **out, int fd, int compression, int level, int workers,
                      const unsigned char *key)
{
	TL__CHECK_ARG(out && fd >= 0);
	if (sodium_init() < 0)
		return tl__error_set(TL_ERROR, TL_ERRCLASS_BACKUP, "libsodium failed to initialise");
	tl__bk_writer *w = tl__calloc(1, sizeof(*w));
	if (!w)
		return TL_ENOMEM;
	w->fd = fd;
	w->compression = compression;
	w->obuf = tl__malloc(OUT_BUF);
	w->zbuf_cap = compression == TL__BK_ZSTD ? ZSTD_CStreamOutSize() : 256 * 1024;
	w->zbuf = tl__malloc(w->zbuf_cap);
	int rc = w->obuf && w->zbuf ? tl__sha256_new(&w->sha) : TL_ENOMEM;
	if (rc == TL_OK && compression == TL__BK_ZSTD) {
		w->zc = ZSTD_createCCtx();
		if (!w->zc)
			rc = tl__error_oom();
		else {
			ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, level ? level : 1);
			ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1);
			/* Fails harmlessly on a libzstd built without threads. */
			if (workers > 0)
				ZSTD_CCtx_setParameter(w->zc, ZSTD_c_nbWorkers, workers);
		}
	} else if (rc == TL_OK) {
		/* windowBits 15 + 16: a gzip header and trailer, for gunzip. */
		if (deflateInit2(&w->gz, level ? level : 1, Z_DEFLATED, 15 + 16, 8,
		                 Z_DEFAULT_STRATEGY) != Z_OK)
			rc = tl__error_set(TL_ENOMEM, TL_ERRCLASS_BACKUP, "zlib failed to initialise");
		else
			w->gz_live = 1;
	}
	if (rc == TL_OK && key) {
		w->encrypt = 1;
		w->plain = tl__malloc(TL__BK_CHUNK);
		w->cipher = tl__malloc(4 + CIPHER_MAX);
		if (!w->plain || !w->cipher)
			rc = TL_ENOMEM;
		if (rc == TL_OK) {
			unsigned char head[TL__BK_MAGIC_LEN + TL__BK_KEYID_LEN +
			                   crypto_secretstream_xchacha20poly1305_HEADERBYTES];
			memcpy(head, TL__BK_MAGIC, TL__BK_MAGIC_LEN);
			key_id(head + TL__BK_MAGIC_LEN, key);
			crypto_secretstream_xchacha20poly1305_init_push(
				&w->st, head + TL__BK_MAGIC_LEN + TL__BK_KEYID_LEN, key);
			rc = sink(w, head, sizeof(head));
		}
	}
	if (rc) {
		tl__bk_writer_free(w);
		return rc;
	}
	*out = w;
	return TL_OK;
}

static int compress_some(tl__bk_writer *w, const void *data, size_t len, int finish)
{
	if (w->compression == TL__BK_ZSTD) {
		ZSTD_inBuffer in = {data, len, 0};
		for (;;) {
			ZSTD_outBuffer ob = {w->zbuf, w->zbuf_cap, 0};
			size_t left = ZSTD_compressStream2(w->zc, &ob, &in,
			                                   finish ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left))
				return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP, "zstd compression failed: %s",
				                     ZSTD_getErrorName(left));
			if (ob.pos) {
				int rc = emit(w, w->zbuf, ob.pos);
				if (rc)
					return rc;
			}
			if (finish ? left == 0 : in.pos == in.size)
				return TL_OK;
		}
	}
	w->gz.next_in = (Bytef *)(uintptr_t)data;
	w->gz.avail_in = (uInt)len;
	for (;;) {
		w->gz.next_out = w->zbuf;
		w->gz.avail_out = (uInt)w->zbuf_cap;
		int z = deflate(&w->gz, finish ? Z_FINISH : Z_NO_FLUSH);
		if (z == Z_STREAM_ERROR)
			return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP, "gzip compression failed");
		size_t have = w->zbuf_cap - w->gz.avail_out;
		if (have) {
			int rc = emit(w, w->zbuf, have);
			if (rc)
				return rc;
		}
		if (finish ? z == Z_STREAM_END : (w->gz.avail_in == 0 && w->gz.avail_out != 0))
			return TL_OK;
	}
}

int tl__bk_writer_write(tl__bk_writer *w, const void *data, size_t len)
{
	TL__CHECK_ARG(w && (data || !len));
	if (w->failed)
		return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP, "the backup writer already failed");
	/* zlib counts in uInt: feed large buffers in slices. */
	const unsigned char *p = data;
	while (len) {
		size_t take = len > (1u << 30) ? (1u << 30) : len;
		int rc = compress_some(w, p, take, 0);
		if (rc) {
			w->failed = 1;
			return rc;
		}
		p += take;
		len -= take;
	}
	return TL_OK;
}

int tl__bk_writer_finish(tl__bk_writer *w, char sha256[65], uint64_t *written)
{
	TL__CHECK_ARG(w);
	if (w->failed)
		return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP, "the backup writer already failed");
	int rc = compress_some(w, NULL, 0, 1);
	if (rc == TL_OK && w->encrypt)
		rc = seal_chunk(w, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
	if (rc == TL_OK)
		rc = sink_flush(w);
	if (rc) {
		w->failed = 1;
		return rc;
	}
	char hex[65];
	if ((rc = tl__sha256_hex_so_far(hex, w->sha))) {
		w->failed = 1;
		return rc;
	}
	if (sha256)
		memcpy(sha256, hex, sizeof(hex));
	if (written)
		*written = w->written;
	return TL_OK;
}

/* ================================================================ reader */

struct tl__bk_reader {
	int fd;
	int compression;
	ZSTD_DCtx *zd;
	z_stream gz;
	int gz_live;
	size_t zret;      /* last ZSTD_decompressStream hint: 0 at a frame end */
	int gz_end;       /* at the end of a gzip member */
	int seen_input;
	/* raw file bytes */
	unsigned char *raw;
	size_t raw_pos, raw_len;
	int raw_eof;
	tl__sha256 *sha;
	uint64_t nread;
	/* decryption */
	int decrypt;
	const unsigned char *key;
	int header_done;
	int final_seen;
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char *cipher;
	unsigned char *plain;
	/* compressed bytes ready for the decompressor */
	const unsigned char *cptr;
	size_t clen;
	int done;
};

void tl__bk_reader_free(tl__bk_reader *r)
{
	if (!r)
		return;
	ZSTD_freeDCtx(r->zd);
	if (r->gz_live)
		inflateEnd(&r->gz);
	sodium_memzero(&r->st, sizeof(r->st));
	tl__sha256_free(r->sha);
	free(r->raw);
	free(r->cipher);
	free(r->plain);
	free(r);
}

int tl__bk_reader_new(tl__bk_reader **out, int fd, int compression,
                      const unsigned char *key)
{
	TL__CHECK_ARG(out && fd >= 0);
	if (sodium_init() < 0)
		return tl__error_set(TL_ERROR, TL_ERRCLASS_BACKUP, "libsodium failed to initialise");
	tl__bk_reader *r = tl__calloc(1, sizeof(*r));
	if (!r)
		return TL_ENOMEM;
	r->fd = fd;
	r->compression = compression;
	r->raw = tl__malloc(OUT_BUF);
	int rc = r->raw ? tl__sha256_new(&r->sha) : TL_ENOMEM;
	if (rc == TL_OK && compression == TL__BK_ZSTD) {
		r->zd = ZSTD_createDCtx();
		if (!r->zd)
			rc = tl__error_oom();
	} else if (rc == TL_OK) {
		if (inflateInit2(&r->gz, 15 + 16) != Z_OK)
			rc = tl__error_set(TL_ENOMEM, TL_ERRCLASS_BACKUP, "zlib failed to initialise");
		else
			r->gz_live = 1;
	}
	if (rc == TL_OK && key) {
		r->decrypt = 1;
		r->key = key;
		r->cipher = tl__malloc(CIPHER_MAX);
		r->plain = tl__malloc(TL__BK_CHUNK);
		if (!r->cipher || !r->plain)
			rc = TL_ENOMEM;
	}
	if (rc) {
		tl__bk_reader_free(r);
		return rc;
	}
	*out = r;
	return TL_OK;
}

void tl__bk_reader_sha256(tl__bk_reader *r, char sha256[65], uint64_t *nread)
{
	/* On a failure the digest is empty, which matches no manifest. */
	if (tl__sha256_hex_so_far(sha256, r->sha))
		tl_error_clear();
	if (nread)
		*nread = r->nread;
}

static int truncated(void)
{
	return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
	                     "the backup is truncated (it ends before its stream does)");
}

/* Make raw bytes available; TL_OK with raw_eof set at the file's end. */
static int raw_fill(tl__bk_reader *r)
{
	if (r->raw_pos < r->raw_len || r->raw_eof)
		return TL_OK;
	r->raw_pos = r->raw_len = 0;
	for (;;) {
		ssize_t n = read(r->fd, r->raw, OUT_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tl__error_os(TL_EIO, errno, "cannot read the backup file");
		if (n == 0)
			r->raw_eof = 1;
		int rc = tl__sha256_update(r->sha, r->raw, (size_t)n);
		if (rc)
			return rc;
		r->nread += (uint64_t)n;
		r->raw_len = (size_t)n;
		return TL_OK;
	}
}

/* Exactly `len` raw bytes into dst; TL_EIO (truncated) when the file ends. */
static int raw_take(tl__bk_reader *r, unsigned char *dst, size_t len)
{
	while (len) {
		int rc = raw_fill(r);
		if (rc)
			return rc;
		if (r->raw_pos == r->raw_len)
			return truncated();
		size_t take = r->raw_len - r->raw_pos;
		if (take > len)
			take = len;
		memcpy(dst, r->raw + r->raw_pos, take);
		r->raw_pos += take;
		dst += take;
		len -= take;
	}
	return TL_OK;
}

/* The next span of compressed bytes into r->cptr/clen; clen 0 at the end
 * of the (authenticated) input. */
static int next_compressed(tl__bk_reader *r)
{
	if (!r->decrypt) {
		int rc = raw_fill(r);
		if (rc)
			return rc;
		r->cptr = r->raw + r->raw_pos;
		r->clen = r->raw_len - r->raw_pos;
		r->raw_pos = r->raw_len;
		return TL_OK;
	}
	if (!r->header_done) {
		unsigned char head[TL__BK_MAGIC_LEN + TL__BK_KEYID_LEN +
		                   crypto_secretstream_xchacha20poly1305_HEADERBYTES];
		int rc = raw_take(r, head, sizeof(head));
		if (rc)
			return rc;
		if (memcmp(head, TL__BK_MAGIC, TL__BK_MAGIC_LEN) != 0)
			return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
			                     "the backup is not an encrypted towlion backup (bad magic)");
		unsigned char id[TL__BK_KEYID_LEN];
		key_id(id, r->key);
		if (memcmp(id, head + TL__BK_MAGIC_LEN, TL__BK_KEYID_LEN) != 0)
			/* TL_EAUTH, not TL_EIO: the file is fine, the key is not. */
			return tl__error_set(TL_EAUTH, TL_ERRCLASS_BACKUP,
			                     "the backup was encrypted with another key than "
			                     "TOWLION_BACKUP_KEY (wrong key)");
		if (crypto_secretstream_xchacha20poly1305_init_pull(
			    &r->st, head + TL__BK_MAGIC_LEN + TL__BK_KEYID_LEN, r->key) != 0)
			return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP, "bad encryption header");
		r->header_done = 1;
	}
	if (r->final_seen) {
		int rc = raw_fill(r);
		if (rc)
			return rc;
		if (r->raw_pos < r->raw_len)
			return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
			                     "the backup has data after its final record "
			                     "(corrupted or tampered with)");
		r->clen = 0;
		return TL_OK;
	}
	unsigned char lenb[4];
	int rc = raw_take(r, lenb, 4);
	if (rc)
		return rc;
	size_t clen = (size_t)lenb[0] << 24 | (size_t)lenb[1] << 16 | (size_t)lenb[2] << 8 | lenb[3];
	if (clen < crypto_secretstream_xchacha20poly1305_ABYTES || clen > CIPHER_MAX)
		return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
		                     "the backup is corrupted or was tampered with (bad record length)");
	if ((rc = raw_take(r, r->cipher, clen)))
		return rc;
	unsigned long long plen = 0;
	unsigned char tag = 0;
	if (crypto_secretstream_xchacha20poly1305_pull(&r->st, r->plain, &plen, &tag, r->cipher,
	                                               clen, NULL, 0) != 0)
		return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
		                     "the backup is corrupted or was tampered with "
		                     "(authentication failed)");
	if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
		r->final_seen = 1;
	r->cptr = r->plain;
	r->clen = (size_t)plen;
	if (plen == 0 && r->final_seen)
		return next_compressed(r); /* check for trailing bytes */
	return TL_OK;
}

static int corrupt(const char *what, const char *detail)
{
	return tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP, "the backup is corrupted (%s: %s)", what,
	                     detail);
}

/* One decompression step from r->cptr/clen into buf; *got bytes out. */
static int inflate_step(tl__bk_reader *r, void *buf, size_t cap, size_t *got)
{
	if (r->compression == TL__BK_ZSTD) {
		ZSTD_inBuffer in = {r->cptr, r->clen, 0};
		ZSTD_outBuffer ob = {buf, cap, 0};
		size_t ret = ZSTD_decompressStream(r->zd, &ob, &in);
		if (ZSTD_isError(ret))
			return corrupt("zstd", ZSTD_getErrorName(ret));
		r->zret = ret;
		r->cptr += in.pos;
		r->clen -= in.pos;
		*got = ob.pos;
		return TL_OK;
	}
	if (r->gz_end && r->clen) {
		/* Another gzip member follows (gunzip reads them all). */
		inflateReset(&r->gz);
		r->gz_end = 0;
	}
	if (r->gz_end) {
		*got = 0;
		return TL_OK;
	}
	r->gz.next_in = (Bytef *)(uintptr_t)r->cptr;
	r->gz.avail_in = (uInt)r->clen;
	r->gz.next_out = buf;
	r->gz.avail_out = (uInt)cap;
	int z = inflate(&r->gz, Z_NO_FLUSH);
	if (z == Z_STREAM_END)
		r->gz_end = 1;
	else if (z != Z_OK && z != Z_BUF_ERROR)
		return corrupt("gzip", r->gz.msg ? r->gz.msg : "inflate failed");
	size_t used = r->clen - r->gz.avail_in;
	r->cptr += used;
	r->clen -= used;
	*got = cap - r->gz.avail_out;
	return TL_OK;
}

int tl__bk_reader_read(tl__bk_reader *r, void *buf, size_t cap, size_t *n)
{
	TL__CHECK_ARG(r && buf && cap && n);
	if (cap > (1u << 30))
		cap = 1u << 30;
	while (!r->done) {
		int at_end = 0;
		if (r->clen == 0) {
			int rc = next_compressed(r);
			if (rc)
				return rc;
			if (r->clen)
				r->seen_input = 1;
			else
				at_end = 1;
		}
		/* At the end of the input the decompressor may still hold
		 * output: one more step with no input flushes it. */
		size_t got = 0;
		int idle = at_end && (r->compression == TL__BK_ZSTD ? (r->seen_input && r->zret == 0)
		                                                    : r->gz_end);
		/* (A finished zstd frame asked for more would expect the next
		 * frame's header, so an idle end is not stepped.) */
		int rc = idle ? TL_OK : inflate_step(r, buf, cap, &got);
		if (rc)
			return rc;
		if (got) {
			*n = got;
			return TL_OK;
		}
		if (at_end) {
			int complete = r->compression == TL__BK_ZSTD ? (r->seen_input && r->zret == 0)
			                                             : r->gz_end;
			if (!complete)
				return truncated();
			r->done = 1;
		}
	}
	*n = 0;
	return TL_OK;
}
