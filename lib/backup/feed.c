/*
 * Reading a backup back: decrypt, decompress and hash it, feeding the
 * plain dump into a child's stdin (pg_restore or psql) through a pipe, or
 * nowhere for a plain integrity check. The child runs under a pthread
 * (tl__spawn blocks); the calling thread reads, so events stay on it.
 */
#include "backup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF (256 * 1024)
#define PROGRESS_EVERY (8u * 1024 * 1024)

typedef struct {
	tl__spawn_opts so;
	const tl__bk_tools *tools;
	tl__spawn_result res;
	int rc;
	char msg[512];
	int in_fd; /* read end, closed once the child is gone */
} child_job;

static void *child_main(void *arg)
{
	child_job *j = arg;
	j->rc = tl__bk_tools_run(&j->res, j->tools, &j->so);
	if (j->rc)
		snprintf(j->msg, sizeof(j->msg), "%s", tl_error_last()->message);
	close(j->in_fd);
	return NULL;
}

/* The line of a child's stderr that says why: the server's "ERROR:" line
 * when there is one (pg_restore follows it with the statement), else the
 * last line. */
static void last_line(char *out, size_t len, const tl_buf *err)
{
	out[0] = '\0';
	const char *e = err->size ? memmem(err->ptr, err->size, "ERROR:", 6) : NULL;
	if (e) {
		const char *s = e;
		while (s > err->ptr && s[-1] != '\n')
			s--;
		const char *nl = memchr(e, '\n', (size_t)(err->ptr + err->size - e));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(err->ptr + err->size - s);
		snprintf(out, len, ": %.*s", (int)n, s);
		return;
	}
	size_t end = err->size;
	while (end && (err->ptr[end - 1] == '\n' || err->ptr[end - 1] == '\r'))
		end--;
	size_t start = end;
	while (start && err->ptr[start - 1] != '\n')
		start--;
	if (end > start)
		snprintf(out, len, ": %.*s", (int)(end - start), err->ptr + start);
}

/* Write all of it; a child that stopped reading is EPIPE, not SIGPIPE
 * (the caller blocks SIGPIPE on this thread). */
static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int tl__bk_feed(tl__bk_feed_result *out, tl_ctx *ctx, const tl__bk_tools *tools,
                const char *path, const tl__bk_name *name, const char *const *argv,
                const char *const *env,
                int timeout_ms, const char *expect_sha, const char *subject)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	unsigned char key[TL__BK_KEY_BYTES];
	int rc = tl__bk_key_for(key, ctx, name->encrypted, base);
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sodium_memzero(key, sizeof(key));
		return tl__error_os(0, errno, "cannot open %s", path);
	}
	tl__bk_reader *r = NULL;
	rc = tl__bk_reader_new(&r, fd,
	                       name->format == TL_BACKUP_FORMAT_SQL ? TL__BK_GZIP : TL__BK_ZSTD,
	                       name->encrypted ? key : NULL);
	if (rc) {
		close(fd);
		sodium_memzero(key, sizeof(key));
		return rc;
	}
	int p[2] = {-1, -1};
	child_job job = {0};
	pthread_t th;
	int started = 0;
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if (argv) {
		if (pipe2(p, O_CLOEXEC) != 0) {
			rc = tl__error_os(TL_EIO, errno, "cannot create a pipe");
		} else {
			/* A 1 MiB pipe: fewer wake-ups per GB (best effort). */
			fcntl(p[1], F_SETPIPE_SZ, 1024 * 1024);
			job.so.argv = argv;
			job.so.env = env;
			job.so.stdin_mode = TL__STDIO_FD;
			job.so.in_fd = p[0];
			job.so.stdout_mode = TL__STDIO_NULL;
			job.so.stderr_mode = TL__STDIO_BUFFER;
			job.so.timeout_ms = timeout_ms;
			job.tools = tools;
			job.in_fd = p[0];
			if ((errno = pthread_create(&th, NULL, child_main, &job)) != 0) {
				rc = tl__error_os(TL_EIO, errno, "cannot start a thread");
				close(p[0]);
			} else {
				started = 1;
			}
		}
	}
	unsigned char *buf = rc ? NULL : tl__malloc(BUF);
	if (!rc && !buf)
		rc = TL_ENOMEM;
	uint64_t total = 0, next_report = PROGRESS_EVERY;
	char head[5] = {0};
	char tail[256]; /* "dump complete", then maybe "\\unrestrict <key>" */
	size_t tail_len = 0;
	int child_gone = 0;
	while (rc == TL_OK) {
		size_t n = 0;
		if ((rc = tl__bk_reader_read(r, buf, BUF, &n)) || n == 0)
			break;
		for (size_t i = 0; total + i < 5 && i < n; i++)
			head[total + i] = (char)buf[i];
		if (n >= sizeof(tail)) {
			memcpy(tail, buf + n - sizeof(tail), sizeof(tail));
			tail_len = sizeof(tail);
		} else {
			size_t keep = sizeof(tail) - n;
			if (keep > tail_len)
				keep = tail_len;
			memmove(tail, tail + tail_len - keep, keep);
			memcpy(tail + keep, buf, n);
			tail_len = keep + n;
		}
		total += n;
		if (argv && !child_gone) {
			int e = write_all(p[1], buf, n);
			if (e == EPIPE)
				child_gone = 1; /* it failed: its status says why */
			else if (e)
				rc = tl__error_os(TL_EIO, e, "cannot feed %s", argv[0]);
		}
		if (rc == TL_OK && total >= next_report) {
			next_report = total + PROGRESS_EVERY;
			rc = tl__progress(ctx, "backup.read", total, 0);
		}
	}
	int stream_rc = rc;
	/* EOF for the child: it finishes (or, after an error, sees a
	 * truncated input and fails; its result is discarded anyway). */
	if (p[1] >= 0)
		close(p[1]);
	if (started)
		pthread_join(th, NULL);
	/* Swallow a SIGPIPE our writes raised, unless one was pending before. */
	if (!sigismember(&old, SIGPIPE)) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) > 0) {
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	char sha[65];
	uint64_t nread = 0;
	tl__bk_reader_sha256(r, sha, &nread);
	if (stream_rc) {
		tl__error_prefix("%s", base);
	} else if (expect_sha && *expect_sha && strcmp(sha, expect_sha) != 0) {
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
		                   "%s: SHA-256 differs from its manifest (the file changed since "
		                   "it was written)",
		                   base);
	} else if (name->format == TL_BACKUP_FORMAT_CUSTOM && memcmp(head, "PGDMP", 5) != 0) {
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
		                   "%s does not hold a pg_dump custom-format archive", base);
	} else if (name->format == TL_BACKUP_FORMAT_SQL &&
	           !memmem(tail, tail_len, "dump complete", 13)) {
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
		                   "%s does not end like a complete pg_dump SQL script", base);
	} else if (started && job.rc) {
		rc = tl__error_set(job.rc, TL_ERRCLASS_PROCESS, "%s: %s", subject, job.msg);
	} else if (started && !(job.res.exited && job.res.exit_status == 0)) {
		char why[400], how[64];
		last_line(why, sizeof(why), &job.res.err);
		rc = tl__error_set_upstream(TL_EIO, TL_ERRCLASS_PROCESS, "", job.res.exit_status,
		                            "%s failed (%s)%s", subject,
		                            tl__spawn_describe(&job.res, how, sizeof(how)), why);
	}
	if (rc == TL_OK && out) {
		out->bytes = total;
		memcpy(out->sha256, sha, sizeof(sha));
	}
	tl__spawn_result_dispose(&job.res);
	free(buf);
	tl__bk_reader_free(r);
	close(fd);
	sodium_memzero(key, sizeof(key));
	return rc;
}
