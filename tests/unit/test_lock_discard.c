/* A lock file removed by its holder (tl__lock_discard) while another
 * process waits on it: the waiter must not take the removed file's lock
 * while a newcomer holds the lock on the new file at the same path. */
#include "tl_test.h"
#include "core/core.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Is there a byte to read on fd within ms? */
static int readable(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, ms) == 1;
}

static void test_waiter_does_not_lock_a_removed_file(void **state)
{
	char *dir = tl_test_tmpdir();
	tl__lock *held = NULL;
	tl_assert_ok(tl__lock_acquire(&held, NULL, dir, "app-x", 0));
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		tl__lock *mine = NULL;
		/* Opens the file now, and waits for its flock. */
		if (tl__lock_acquire(&mine, NULL, dir, "app-x", 10000) != TL_OK)
			_exit(1);
		(void)!write(fds[1], "L", 1);
		/* Holds it a moment, then lets go. */
		usleep(200 * 1000);
		(void)!write(fds[1], "U", 1);
		tl__lock_release(mine);
		_exit(0);
	}
	close(fds[1]);
	usleep(300 * 1000); /* the child is waiting on the first file */
	assert_false(readable(fds[0], 0));
	char path[1100];
	snprintf(path, sizeof(path), "%s/app-x.lock", dir);
	tl__lock_discard(held);
	struct stat st;
	assert_int_equal(stat(path, &st), -1); /* removed */
	/* A newcomer creates the path anew and takes it; the waiter, woken on
	 * the removed file, must see it is gone and wait on the new one.
	 * Whichever of the two gets the lock first, they never hold it at
	 * the same time: when the newcomer holds it, the waiter has either
	 * not taken it yet (nothing written) or taken and let go ("LU"). */
	tl__lock *again = NULL;
	tl_assert_ok(tl__lock_acquire(&again, NULL, dir, "app-x", 5000));
	char seen[8] = "";
	size_t n = 0;
	while (n < sizeof(seen) - 1 && readable(fds[0], 0) && read(fds[0], seen + n, 1) == 1)
		n++;
	if (n && strcmp(seen, "LU"))
		fail_msg("the waiter holds the lock of a removed file beside the newcomer (%s)", seen);
	if (!n && readable(fds[0], 500))
		fail_msg("the waiter took the lock of a removed file while the newcomer holds it");
	tl__lock_release(again);
	if (!n)
		assert_true(readable(fds[0], 5000)); /* then it gets it */
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fds[0]);
	assert_int_equal(stat(path, &st), 0); /* a plain release keeps the file */
	tl_test_rmdir(dir);
}

static void test_discard_null_and_missing_file(void **state)
{
	tl__lock_discard(NULL);
	char *dir = tl_test_tmpdir();
	tl__lock *l = NULL;
	tl_assert_ok(tl__lock_acquire(&l, NULL, dir, "gone", 0));
	char path[1100];
	snprintf(path, sizeof(path), "%s/gone.lock", dir);
	assert_int_equal(unlink(path), 0);
	tl__lock_discard(l); /* already gone: fine */
	tl_test_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waiter_does_not_lock_a_removed_file),
		cmocka_unit_test(test_discard_null_and_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
