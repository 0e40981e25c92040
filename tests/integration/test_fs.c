/* Atomic writes and locks against the real filesystem, including
 * processes killed with SIGKILL halfway. */
#include "tl_test.h"

#include "core/core.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <unistd.h>

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_atomic_write_mode_and_content(void **state)
{
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/secret.env", dir);
	mode_t old = umask(0);
	tl_assert_ok(tl__file_write_atomic(path, "A=1\n", 4, 0600));
	umask(old);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *text = tl_test_read_file(path);
	assert_string_equal(text, "A=1\n");
	free(text);
	tl_assert_ok(tl__file_write_atomic(path, "B=2\n", 4, 0640));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_entries(dir), 1);
	/* A missing directory is a clear error. */
	snprintf(path, sizeof(path), "%s/missing/x", dir);
	tl_assert_rc(TL_ENOTFOUND, tl__file_write_atomic(path, "x", 1, 0600));
	tl_assert_error_contains("missing");
	/* Abort leaves nothing behind. */
	snprintf(path, sizeof(path), "%s/aborted", dir);
	tl__atomic_file af;
	tl_assert_ok(tl__atomic_open(&af, path, 0600));
	tl_assert_ok(tl__atomic_write(&af, "partial", 7));
	tl__atomic_abort(&af);
	assert_int_equal(count_entries(dir), 1);
	tl_test_rmdir(dir);
}

static void test_writer_killed_midway_keeps_old_file(void **state)
{
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/routes.caddy", dir);
	tl_assert_ok(tl__file_write_atomic(path, "old complete content\n", 21, 0644));
	int sync_pipe[2];
	assert_int_equal(pipe(sync_pipe), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		tl__atomic_file af;
		if (tl__atomic_open(&af, path, 0644))
			_exit(2);
		static char chunk[1 << 16];
		memset(chunk, 'n', sizeof(chunk));
		for (int i = 0; i < 64; i++)
			tl__atomic_write(&af, chunk, sizeof(chunk));
		(void)!write(sync_pipe[1], "x", 1);
		for (;;)
			pause(); /* killed here, before commit */
	}
	char c;
	assert_int_equal(read(sync_pipe[0], &c, 1), 1);
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	char *text = tl_test_read_file(path);
	assert_string_equal(text, "old complete content\n");
	free(text);
	close(sync_pipe[0]);
	close(sync_pipe[1]);
	tl_test_rmdir(dir);
}

/* A child takes the lock, tells us, and waits to be killed. */
static pid_t child_holding_lock(const char *dir, const char *name)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		tl__lock *lk;
		if (tl__lock_acquire(&lk, NULL, dir, name, 0) != TL_OK)
			_exit(3);
		(void)!write(p[1], "L", 1);
		for (;;)
			pause();
	}
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	close(p[1]);
	return pid;
}

static void test_lock_names_holder_and_frees_on_sigkill(void **state)
{
	char *dir = tl_test_tmpdir();
	pid_t pid = child_holding_lock(dir, "app-shop");
	tl__lock *lk = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tl_assert_rc(TL_ELOCKED, tl__lock_acquire(&lk, NULL, dir, "app-shop", 200));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(waited >= 190);
	assert_null(lk);
	char pidtxt[32];
	snprintf(pidtxt, sizeof(pidtxt), "pid %ld", (long)pid);
	tl_assert_error_contains(pidtxt);
	tl_assert_error_contains("test_fs"); /* the holder's command */
	tl_assert_error_contains("since 20");
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_LOCK);
	tl_buf who = TL_BUF_INIT;
	tl_assert_ok(tl__lock_holder(&who, dir, "app-shop"));
	assert_non_null(strstr(who.ptr, pidtxt));
	tl_buf_dispose(&who);

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* The kernel released it: we get it at once. */
	tl_assert_ok(tl__lock_acquire(&lk, NULL, dir, "app-shop", 1000));
	tl_assert_rc(TL_ENOTFOUND, tl__lock_holder(&who, "/nonexistent", "app-shop"));
	tl__lock_release(lk);
	tl_assert_rc(TL_ENOTFOUND, tl__lock_holder(&who, dir, "app-shop"));
	tl_test_rmdir(dir);
}

static void test_lock_waits_for_release(void **state)
{
	char *dir = tl_test_tmpdir();
	/* The child says when it holds the lock (a sleep instead lost the race
	 * on a loaded machine: the parent took the lock first). */
	int held[2];
	assert_int_equal(pipe(held), 0);
	pid_t pid = fork();
	if (pid == 0) {
		tl__lock *lk;
		close(held[0]);
		if (tl__lock_acquire(&lk, NULL, dir, "routes", 0))
			_exit(3);
		if (write(held[1], "h", 1) != 1)
			_exit(4);
		struct timespec t = {0, 300 * 1000 * 1000};
		nanosleep(&t, NULL);
		tl__lock_release(lk);
		_exit(0);
	}
	close(held[1]);
	char byte;
	assert_int_equal(read(held[0], &byte, 1), 1);
	close(held[0]);
	tl__lock *lk = NULL;
	tl_assert_ok(tl__lock_acquire(&lk, NULL, dir, "routes", 10000));
	int status;
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	/* A second holder inside the same process is refused too. */
	tl__lock *again = NULL;
	tl_assert_rc(TL_ELOCKED, tl__lock_acquire(&again, NULL, dir, "routes", 0));
	tl__lock_release(lk);
	tl__lock_release(NULL);
	tl_assert_rc(TL_EINVALID, tl__lock_acquire(&lk, NULL, dir, "../escape", 0));
	tl_assert_rc(TL_EINVALID, tl__lock_acquire(&lk, NULL, dir, "", 0));
	tl_test_rmdir(dir);
}

static int cancel_cb(const tl_event *ev, void *p)
{
	return 1;
}

static void test_lock_wait_is_cancellable(void **state)
{
	char *dir = tl_test_tmpdir();
	pid_t pid = child_holding_lock(dir, "app-x");
	tl_ctx *ctx = tl_test_ctx(0);
	tl_ctx_set_event_cb(ctx, cancel_cb, NULL);
	tl__lock *lk = NULL;
	tl_assert_rc(TL_EUSER, tl__lock_acquire(&lk, ctx, dir, "app-x", -1));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

static void test_mkdir_p(void **state)
{
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	tl_assert_ok(tl__mkdir_p(path, 0700));
	tl_assert_ok(tl__mkdir_p(path, 0700));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "%s/file", dir);
	tl_test_write_file(path, "x", 0600);
	tl_assert_rc(TL_EIO, tl__mkdir_p(path, 0700));
	tl_test_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_write_mode_and_content),
		cmocka_unit_test(test_writer_killed_midway_keeps_old_file),
		cmocka_unit_test(test_lock_names_holder_and_frees_on_sigkill),
		cmocka_unit_test(test_lock_waits_for_release),
		cmocka_unit_test(test_lock_wait_is_cancellable),
		cmocka_unit_test(test_mkdir_p),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
