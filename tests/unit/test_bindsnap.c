/*
 * The copies a preview binds (lib/deploy/bindsnap.c), on a real directory
 * tree, without dockerd: what is copied and how, and that the source path
 * is opened without following any link.
 */
#include "tl_test.h"
#include "deploy/bindsnap.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp;
static tl__project proj;
static tl__deploy_attempt att;

static const char *at(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, rel);
	return buf[i];
}

static int setup(void **state)
{
	tmp = tl_test_tmpdir();
	tl_test_sh("set -e; cd '%s'; mkdir -p src/data/sub state; echo one > src/data/a.txt;"
	           "echo two > src/data/sub/b.txt; chmod 0751 src/data/sub; chmod 0640 src/data/a.txt;"
	           "ln -s / src/data/root-link; mkfifo src/data/fifo; ln -s data src/link;"
	           "echo f > src/file.conf", tmp);
	memset(&proj, 0, sizeof(proj));
	proj.name = "snap";
	proj.state_dir = strdup(at("state"));
	memset(&att, 0, sizeof(att));
	att.p = &proj;
	att.release_id = strdup("r1");
	return 0;
}

static int teardown(void **state)
{
	free(proj.state_dir);
	free(att.release_id);
	tl_test_rmdir(tmp);
	return 0;
}

static void test_directory_copy(void **state)
{
	char *out = NULL;
	tl_assert_ok(tl__bind_snapshot(&out, &att, at("src/data"), S_IFDIR | 0755));
	assert_non_null(strstr(out, "/state/binds/r1/"));
	char p[PATH_MAX + 32];
	struct stat st;
	/* files and directories, with their modes */
	snprintf(p, sizeof(p), "%s/a.txt", out);
	char *t = tl_test_read_file(p);
	assert_string_equal(t, "one\n");
	free(t);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(p, sizeof(p), "%s/sub", out);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
	/* a link inside stays a link (resolved in the container, not here) */
	snprintf(p, sizeof(p), "%s/root-link", out);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* a FIFO is not copied */
	snprintf(p, sizeof(p), "%s/fifo", out);
	assert_int_not_equal(lstat(p, &st), 0);
	/* the same source again in this release: the same copy */
	char *again = NULL;
	tl_assert_ok(tl__bind_snapshot(&again, &att, at("src/data"), S_IFDIR | 0755));
	assert_string_equal(again, out);
	free(again);
	/* what the copies of the release hold, for the release's limits:
	 * a.txt, sub, sub/b.txt, root-link and the FIFO (every entry counts) */
	char *used = tl_test_read_file(at("state/binds/r1/.used"));
	assert_non_null(used);
	long long bytes = 0;
	long files = 0;
	assert_int_equal(sscanf(used, "%lld %ld", &bytes, &files), 2);
	assert_int_equal(bytes, 8);
	assert_int_equal(files, 5);
	free(used);
	/* the copy does not follow the checkout */
	tl_test_sh("echo late > '%s'", at("src/data/late.txt"));
	snprintf(p, sizeof(p), "%s/late.txt", out);
	assert_int_not_equal(lstat(p, &st), 0);
	free(out);
}

static void test_file_copy(void **state)
{
	char *out = NULL;
	tl_assert_ok(tl__bind_snapshot(&out, &att, at("src/file.conf"), S_IFREG | 0644));
	assert_true(tl__str_endswith(out, "/file.conf"));
	char *t = tl_test_read_file(out);
	assert_string_equal(t, "f\n");
	free(t);
	free(out);
}

static void test_links_in_the_path_refused(void **state)
{
	/* src/link -> data: a link in the source path is never followed */
	char *out = (char *)"untouched";
	int rc = tl__bind_snapshot(&out, &att, at("src/link/sub"), S_IFDIR | 0755);
	assert_int_not_equal(rc, TL_OK);
	tl_assert_error_contains("without following links");
	assert_string_equal(out, "untouched");
	rc = tl__bind_snapshot(&out, &att, at("src/data/root-link"), S_IFDIR | 0755);
	assert_int_not_equal(rc, TL_OK);
	/* no half copy is left behind */
	tl_test_sh("test -z \"$(ls -A '%s' | grep '^\\.tmp')\"", at("state/binds/r1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directory_copy),
		cmocka_unit_test(test_file_copy),
		cmocka_unit_test(test_links_in_the_path_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
