/*
 * Backup keys: 32 random bytes kept as 64 hex digits in a file that only
 * its owner may read (0600 or stricter; anything else is refused, like
 * ssh refuses a private key others can read).
 */
#include "backup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tl__bk_key_parse(unsigned char key[TL__BK_KEY_BYTES], const char *text, size_t len,
                     const char *path)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len != 2 * TL__BK_KEY_BYTES)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
		                     "backup key file %s must hold 64 hex digits; create one with "
		                     "'towlion backup key generate FILE'",
		                     path);
	unsigned char k[TL__BK_KEY_BYTES];
	for (size_t i = 0; i < TL__BK_KEY_BYTES; i++) {
		int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			sodium_memzero(k, sizeof(k));
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
			                     "backup key file %s holds a non-hex character", path);
		}
		k[i] = (unsigned char)(hi << 4 | lo);
	}
	memcpy(key, k, sizeof(k));
	sodium_memzero(k, sizeof(k));
	return TL_OK;
}

int tl__bk_key_load(unsigned char key[TL__BK_KEY_BYTES], int *have, tl_ctx *ctx)
{
	const char *path = tl__cfg(ctx, "TOWLION_BACKUP_KEY");
	if (!path || !*path) {
		*have = 0;
		return TL_OK;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return tl__error_os(0, errno, "cannot open the backup key %s (TOWLION_BACKUP_KEY)",
		                    path);
	struct stat st;
	int rc = TL_OK;
	if (fstat(fd, &st) != 0)
		rc = tl__error_os(TL_EIO, errno, "cannot stat the backup key %s", path);
	else if (!S_ISREG(st.st_mode))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
		                   "the backup key %s is not a regular file", path);
	else if (st.st_mode & 077)
		rc = tl__error_set(TL_EAUTH, TL_ERRCLASS_BACKUP,
		                   "the backup key %s is accessible by others (mode %04o); "
		                   "run: chmod 600 %s",
		                   path, (unsigned)(st.st_mode & 07777), path);
	char text[130];
	ssize_t n = 0;
	if (rc == TL_OK) {
		n = read(fd, text, sizeof(text));
		if (n < 0)
			rc = tl__error_os(TL_EIO, errno, "cannot read the backup key %s", path);
	}
	close(fd);
	if (rc == TL_OK)
		rc = tl__bk_key_parse(key, text, (size_t)n, path);
	sodium_memzero(text, sizeof(text));
	if (rc == TL_OK)
		*have = 1;
	return rc;
}

int tl_backup_key_generate(const char *path)
{
	TL__CHECK_ARG(path && *path);
	unsigned char k[TL__BK_KEY_BYTES];
	size_t got = 0;
	while (got < sizeof(k)) {
		ssize_t n = getrandom(k + got, sizeof(k) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tl__error_os(TL_EIO, errno, "getrandom failed");
		got += (size_t)n;
	}
	char text[2 * TL__BK_KEY_BYTES + 2];
	sodium_bin2hex(text, sizeof(text), k, sizeof(k));
	sodium_memzero(k, sizeof(k));
	text[2 * TL__BK_KEY_BYTES] = '\n';
	text[2 * TL__BK_KEY_BYTES + 1] = '\0';
	/* Written to a temporary file, then link()ed into place: link fails
	 * when the target exists, so a key is never overwritten, and the key
	 * appears complete or not at all. */
	char *tmp = tl__sprintf("%s.tmp-XXXXXX", path);
	if (!tmp) {
		sodium_memzero(text, sizeof(text));
		return TL_ENOMEM;
	}
	int rc = TL_OK;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = tl__error_os(0, errno, "cannot create a key file next to %s", path);
	} else {
		fchmod(fd, 0600);
		size_t len = 2 * TL__BK_KEY_BYTES + 1;
		if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
			rc = tl__error_os(TL_EIO, errno, "cannot write the key file %s", tmp);
		close(fd);
		if (rc == TL_OK && link(tmp, path) != 0) {
			int e = errno;
			rc = e == EEXIST ? tl__error_set(TL_EEXISTS, TL_ERRCLASS_BACKUP,
			                                 "%s already exists; a key is never overwritten",
			                                 path)
			                 : tl__error_os(0, e, "cannot create the key file %s", path);
		}
		unlink(tmp);
		if (rc == TL_OK) {
			char *slash = strrchr(path, '/');
			char *dir = slash ? tl__strndup(path, (size_t)(slash - path)) : tl__strdup(".");
			if (dir && *dir)
				tl__fsync_dir(dir);
			free(dir);
		}
	}
	sodium_memzero(text, sizeof(text));
	free(tmp);
	return rc;
}
