/* Files: whole-file reads, directories, and atomic replacement. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tl__file_read(tl_buf *out, const char *path)
{
	return tl__file_read_max(out, path, SIZE_MAX, "file");
}

int tl__mkdir_p(const char *path, mode_t mode)
{
	char *p = tl__strdup(path);
	if (!p)
		return TL_ENOMEM;
	int rc = TL_OK;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			rc = tl__error_os(0, errno, "cannot create directory %s", p);
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (rc == TL_OK) {
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_OS, "%s exists and is not a directory",
			                   path);
	}
	free(p);
	return rc;
}

int tl__fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return tl__error_os(TL_EIO, errno, "cannot open directory %s", dir);
	int rc = TL_OK;
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = tl__error_os(TL_EIO, errno, "cannot fsync directory %s", dir);
	close(fd);
	return rc;
}

char *tl__path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	return tl__sprintf("%.*s/%s", (int)la, a, b);
}

int tl__atomic_open(tl__atomic_file *af, const char *path, mode_t mode)
{
	af->fd = -1;
	af->path = tl__strdup(path);
	/* A name that `ls` shows next to its target, unique per process and
	 * attempt, and that no reader mistakes for the real file. */
	char rnd[9];
	if (!af->path || tl__secret_generate(rnd, 8) < 0 ||
	    !(af->tmp_path = tl__sprintf("%s.tmp-%ld-%s", path, (long)getpid(), rnd))) {
		free(af->path);
		af->path = NULL;
		return TL_ENOMEM;
	}
	/* O_EXCL + the mode at creation: the content never exists with wider
	 * permissions than asked for, whatever the umask. */
	af->fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
	if (af->fd < 0 || fchmod(af->fd, mode & 07777) != 0) {
		int rc = tl__error_os(0, errno, "cannot create %s", af->tmp_path);
		tl__atomic_abort(af);
		return rc;
	}
	return TL_OK;
}

int tl__atomic_write(tl__atomic_file *af, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(af->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tl__error_os(TL_EIO, errno, "cannot write %s", af->tmp_path);
		p += n;
		len -= (size_t)n;
	}
	return TL_OK;
}

int tl__atomic_commit(tl__atomic_file *af)
{
	int rc = TL_OK;
	if (fsync(af->fd) != 0)
		rc = tl__error_os(TL_EIO, errno, "cannot fsync %s", af->tmp_path);
	if (close(af->fd) != 0 && rc == TL_OK)
		rc = tl__error_os(TL_EIO, errno, "cannot close %s", af->tmp_path);
	af->fd = -1;
	if (rc == TL_OK && rename(af->tmp_path, af->path) != 0)
		rc = tl__error_os(0, errno, "cannot rename %s to %s", af->tmp_path, af->path);
	if (rc == TL_OK) {
		char *dir = tl__strdup(af->path);
		rc = dir ? tl__fsync_dir(dirname(dir)) : TL_ENOMEM;
		free(dir);
		free(af->tmp_path);
		af->tmp_path = NULL; /* renamed: nothing left to clean up */
	}
	tl__atomic_abort(af);
	return rc;
}

void tl__atomic_abort(tl__atomic_file *af)
{
	if (!af)
		return;
	if (af->fd >= 0)
		close(af->fd);
	af->fd = -1;
	if (af->tmp_path)
		unlink(af->tmp_path);
	free(af->tmp_path);
	free(af->path);
	af->tmp_path = af->path = NULL;
}

int tl__file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	tl__atomic_file af;
	int rc = tl__atomic_open(&af, path, mode);
	if (rc)
		return rc;
	rc = tl__atomic_write(&af, data, len);
	if (rc) {
		tl__atomic_abort(&af);
		return rc;
	}
	return tl__atomic_commit(&af);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
	return (r != 0 && errno != ENOENT) ? -1 : 0;
}

int tl__rm_rf(const char *path, const char *root)
{
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	/* Strictly inside root, no ".." anywhere: a bug never becomes rm -rf /. */
	if (rl < 2 || strncmp(path, root, rl) != 0 || path[rl] != '/' || !path[rl + 1] ||
	    strstr(path, "/..") || strstr(path, "/./"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_OS,
		                     "refusing to remove %s: not inside %s", path, root);
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? TL_OK : tl__error_os(0, errno, "cannot remove %s", path);
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
		return tl__error_os(TL_EIO, errno, "cannot remove %s", path);
	return TL_OK;
}

/* Like tl__file_read, for files a tenant controls: a symlink to /dev/zero
 * or a huge file stops at `max` bytes with an error naming the limit,
 * instead of reading without end. */
static int read_fd(tl_buf *out, int fd, const char *path, size_t max, const char *what);

int tl__file_read_max(tl_buf *out, const char *path, size_t max, const char *what)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tl__error_os(0, errno, "cannot open %s", path);
	return read_fd(out, fd, path, max, what);
}

int tl__file_read_at(tl_buf *out, int dirfd, const char *name, const char *path)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tl__error_os(0, errno, "cannot open %s", path);
	return read_fd(out, fd, path, SIZE_MAX, "file");
}

/* Read fd to its end and close it; `path` names it in errors. */
static int read_fd(tl_buf *out, int fd, const char *path, size_t max, const char *what)
{
	tl_buf b = TL_BUF_INIT;
	/* A regular file gets a buffer of its size (plus room for the read
	 * that sees its end) at once: reading the thousand small files of a
	 * routing table into 8 KiB buffers was mostly page faults. Anything
	 * else (a pipe, a file that grows) is read on in 4 KiB steps. */
	struct stat st;
	size_t first = 4096;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size < max)
		first = (size_t)st.st_size + 1;
	int rc = tl__buf_grow(&b, first);
	while (rc == TL_OK) {
		if (b.size > max) {
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                   "%s %s is larger than %zu bytes (the limit)", what, path,
			                   max);
			break;
		}
		if (b.asize - b.size < 2 && (rc = tl__buf_grow(&b, b.size + 4096)))
			break;
		ssize_t n = read(fd, b.ptr + b.size, b.asize - b.size - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tl__error_os(TL_EIO, errno, "cannot read %s", path);
			break;
		}
		if (n == 0)
			break;
		b.size += (size_t)n;
	}
	close(fd);
	if (rc) {
		tl__buf_dispose_secret(&b);
		return rc;
	}
	b.ptr[b.size] = '\0';
	tl__buf_dispose_secret(out);
	*out = b;
	return TL_OK;
}
