/*
 * Named locks: flock() on <dir>/<name>.lock. The kernel drops the lock
 * when the holder dies, so a crash never leaves an app locked. The holder
 * writes who it is into the file so a waiter can name it.
 *
 * Removing a lock file is a race: a waiter that opened the file before the
 * unlink gets the flock on the removed inode, while a newcomer creates a
 * new file at the path and locks that one, and both "hold" the lock. So a
 * file is only ever removed by its holder (tl__lock_discard), and every
 * acquirer, once it has the flock, checks that the path still names the
 * inode it locked; when it does not, it lets go and opens the path again.
 * With both, at most one process holds a lock named by a path.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct tl__lock {
	int fd;
	char *path;
};

static int valid_lock_name(const char *name)
{
	if (!name || !*name || strlen(name) > 200 || strstr(name, ".."))
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

static char *lock_path(const char *dir, const char *name)
{
	char *file = tl__sprintf("%s.lock", name);
	char *path = file ? tl__path_join(dir, file) : NULL;
	free(file);
	return path;
}

/* "towlion deploy shop" from /proc/self/cmdline, bounded. */
static void own_command(char *out, size_t len)
{
	out[0] = '\0';
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	out[n] = '\0';
	for (ssize_t i = 0; i < n - 1; i++)
		if (out[i] == '\0' || out[i] == '\n')
			out[i] = ' ';
}

static void write_holder(int fd)
{
	char cmd[256], since[32], text[400];
	own_command(cmd, sizeof(cmd));
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	int n = snprintf(text, sizeof(text), "pid=%ld\ncommand=%s\nsince=%s\n",
	                 (long)getpid(), cmd, since);
	if (ftruncate(fd, 0) == 0 && n > 0)
		(void)!pwrite(fd, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1, 0);
}

/* Read the holder description from an open lock file. */
static void describe_holder(tl_buf *out, int fd)
{
	char text[400] = "";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	char pid[32] = "?", cmd[256] = "", since[64] = "";
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "pid=", 4))
			snprintf(pid, sizeof(pid), "%s", line + 4);
		else if (!strncmp(line, "command=", 8))
			snprintf(cmd, sizeof(cmd), "%s", line + 8);
		else if (!strncmp(line, "since=", 6))
			snprintf(since, sizeof(since), "%s", line + 6);
	}
	tl__buf_clear(out);
	tl__buf_printf(out, "pid %s", pid);
	if (*cmd)
		tl__buf_printf(out, " (%s)", cmd);
	if (*since)
		tl__buf_printf(out, " since %s", since);
}

/* Does the path still name the file we hold open? */
static bool still_named(const tl__lock *lk)
{
	struct stat held, named;
	if (fstat(lk->fd, &held) != 0 || stat(lk->path, &named) != 0)
		return false;
	return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

int tl__lock_acquire(tl__lock **out, tl_ctx *ctx, const char *dir, const char *name,
                     int timeout_ms)
{
	TL__CHECK_ARG(out && dir);
	if (!valid_lock_name(name))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_LOCK, "invalid lock name \"%s\"",
		                     name ? name : "(null)");
	int rc = tl__mkdir_p(dir, 0700);
	if (rc)
		return rc;
	tl__lock *lk = tl__calloc(1, sizeof(*lk));
	if (!lk || !(lk->path = lock_path(dir, name))) {
		free(lk);
		return TL_ENOMEM;
	}
	int64_t start = tl__clock_ms();
	bool told = false;
	lk->fd = -1;
	for (;;) {
		if (lk->fd < 0 && (lk->fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
			rc = tl__error_os(0, errno, "cannot open lock file %s", lk->path);
			goto fail;
		}
		if (flock(lk->fd, LOCK_EX | LOCK_NB) == 0) {
			if (still_named(lk))
				break;
			/* Its holder removed it while we waited: lock the path anew. */
			close(lk->fd);
			lk->fd = -1;
			continue;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = tl__error_os(TL_EIO, errno, "cannot lock %s", lk->path);
			goto fail;
		}
		int64_t waited = tl__clock_ms() - start;
		tl_buf who = TL_BUF_INIT;
		if (!told || (timeout_ms >= 0 && waited >= timeout_ms))
			describe_holder(&who, lk->fd);
		if (timeout_ms >= 0 && waited >= timeout_ms) {
			rc = tl__error_set(TL_ELOCKED, TL_ERRCLASS_LOCK,
			                   "%s is locked by %s; wait for it to finish, or stop it "
			                   "if it is stuck",
			                   name, who.ptr ? who.ptr : "another process");
			tl_buf_dispose(&who);
			goto fail;
		}
		if (!told) {
			rc = tl__log(ctx, TL_LOG_INFO, "waiting for the lock %s, held by %s", name,
			             who.ptr ? who.ptr : "another process");
			told = true;
		} else {
			rc = tl__cancelled(ctx);
		}
		tl_buf_dispose(&who);
		if (rc)
			goto fail;
		tl__sleep_ms(20);
	}
	write_holder(lk->fd);
	*out = lk;
	return TL_OK;
fail:
	if (lk->fd >= 0)
		close(lk->fd);
	free(lk->path);
	free(lk);
	return rc;
}

void tl__lock_release(tl__lock *lk)
{
	if (!lk)
		return;
	if (ftruncate(lk->fd, 0) != 0) {
		/* Only the holder note is lost; the lock itself is released. */
	}
	flock(lk->fd, LOCK_UN);
	close(lk->fd);
	free(lk->path);
	free(lk);
}

void tl__lock_discard(tl__lock *lk)
{
	if (!lk)
		return;
	/* Unlinked while held: a waiter on this inode finds it gone once it
	 * gets the flock, and starts over on the path (see the top). */
	if (unlink(lk->path) != 0 && errno != ENOENT) {
		/* Left in place: the lock stays correct, only a file remains. */
	}
	tl__lock_release(lk);
}

int tl__lock_holder(tl_buf *out, const char *dir, const char *name)
{
	TL__CHECK_ARG(out && dir);
	if (!valid_lock_name(name))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_LOCK, "invalid lock name \"%s\"",
		                     name ? name : "(null)");
	char *path = lock_path(dir, name);
	if (!path)
		return TL_ENOMEM;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_LOCK, "%s is not locked", name);
	int rc = TL_OK;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_LOCK, "%s is not locked", name);
	} else {
		describe_holder(out, fd);
	}
	close(fd);
	return rc;
}

/* Where a project's lock lives, and its name. */
static int project_lock(char **dir, char **name, const tl_ctx *ctx, const char *project)
{
	*dir = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "locks");
	*name = tl__sprintf("app-%s", project);
	if (*dir && *name)
		return TL_OK;
	free(*dir);
	free(*name);
	return TL_ENOMEM;
}

int tl__lock_project(tl__lock **out, tl_ctx *ctx, const char *project, int timeout_ms)
{
	char *dir, *name;
	int rc = project_lock(&dir, &name, ctx, project);
	if (rc == TL_OK) {
		rc = tl__lock_acquire(out, ctx, dir, name, timeout_ms);
		free(dir);
		free(name);
	}
	return rc;
}

int tl__lock_project_holder(tl_buf *out, const tl_ctx *ctx, const char *project)
{
	char *dir, *name;
	int rc = project_lock(&dir, &name, ctx, project);
	if (rc == TL_OK) {
		rc = tl__lock_holder(out, dir, name);
		free(dir);
		free(name);
	}
	return rc;
}
