/*
 * The path walker (lib/core/pathwalk.c) on a real directory tree: the
 * canonical path it hands back, and every way a path may try to leave its
 * root (absolute links, relative links with "..", ".." itself, link loops,
 * links in the middle, long paths), each refused with a message that says
 * which component and why.
 */
#include "tl_test.h"
#include "core/core.h"
#include "core/pathwalk.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp;   /* /tmp/towlion-test.X */
static char *root;  /* tmp/app: the fence */
static char rootc[PATH_MAX];

static const char *at(const char *rel)
{
	static char buf[4][PATH_MAX + 64];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, rel);
	return buf[i];
}

static void mk(const char *rel)
{
	assert_int_equal(mkdir(at(rel), 0755), 0);
}

static void ln(const char *target, const char *rel)
{
	assert_int_equal(symlink(target, at(rel)), 0);
}

static int setup(void **state)
{
	tmp = tl_test_tmpdir();
	mk("app");
	mk("app/data");
	mk("app/data/sub");
	mk("app/deep");
	mk("app/deep/er");
	mk("other");                                  /* another app's directory */
	tl_test_write_file(at("other/SECRET"), "x", 0600);
	tl_test_write_file(at("app/file"), "f", 0644);
	ln("data", "app/rel");                        /* inside: fine */
	ln("deep/er", "app/mid");                     /* a directory link in the middle */
	ln("/", "app/to-root");                       /* absolute: refused beneath */
	ln("../other", "app/to-other");               /* relative, climbs out */
	ln("data/../../other", "app/sneaky");         /* climbs out through a real dir */
	ln("loop-b", "app/loop-a");                   /* a loop */
	ln("loop-a", "app/loop-b");
	ln("self", "app/self");
	ln("missing-target", "app/dangling");         /* inside, target missing */
	ln("../../outside-missing", "app/dangling-out");
	ln("file", "app/to-file");
	root = strdup(at("app"));
	assert_non_null(realpath(root, rootc));
	return 0;
}

static int teardown(void **state)
{
	tl_test_rmdir(tmp);
	free(root);
	return 0;
}

static char *walk_ok(const char *path, unsigned flags, mode_t *mode)
{
	char *out = NULL;
	tl_assert_ok(tl__path_walk(&out, mode, root, path, flags));
	assert_non_null(out);
	return out;
}

static void expect(const char *path, unsigned flags, const char *want_rel)
{
	char *out = walk_ok(path, flags, NULL);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s%s%s", rootc, *want_rel ? "/" : "", want_rel);
	assert_string_equal(out, want);
	free(out);
}

static void refused(const char *path, unsigned flags, int code, const char *why)
{
	char *out = (char *)"untouched";
	mode_t mode = 0777;
	tl_assert_rc(code, tl__path_walk(&out, &mode, root, path, flags));
	assert_string_equal(out, "untouched"); /* out-params untouched on failure */
	assert_int_equal(mode, 0777);
	tl_assert_error_contains(why);
}

#define B TL__WALK_BENEATH
#define M TL__WALK_MISSING_OK
#define NF TL__WALK_NOFOLLOW

static void test_canonical_inside(void **state)
{
	mode_t mode = 0;
	char *o = walk_ok("data/sub", B, &mode);
	assert_true(S_ISDIR(mode));
	free(o);
	expect("data/sub", B, "data/sub");
	expect("./data//./sub/", B, "data/sub");
	expect("", B, "");
	expect("rel/sub", B, "data/sub");        /* a link inside stays inside */
	expect("mid", B, "deep/er");             /* the link is gone from the result */
	expect("mid/..", B, "deep");             /* ".." after a link: physical, not lexical */
	expect("data/../deep", B, "deep");
	expect("to-file", B, "file");
	o = walk_ok("to-file", B, &mode);
	assert_true(S_ISREG(mode));
	free(o);
	/* absolute paths under the root, as the root was given or canonical */
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/rel", root);
	expect(p, B, "data");
	snprintf(p, sizeof(p), "%s/rel", rootc);
	expect(p, B, "data");
}

static void test_missing_tail(void **state)
{
	mode_t mode = 0777;
	char *o = walk_ok("data/new/x", B | M, &mode);
	assert_int_equal(mode, 0);
	free(o);
	expect("data/new/x", B | M, "data/new/x");
	expect("data/new/../x", B | M, "data/x");
	expect("dangling", B | M, "missing-target"); /* what Docker would create, inside */
	refused("data/new", B, TL_ENOTFOUND, "does not exist");
	refused("missing/../../other", B | M, TL_EINVALID, "climbs above");
	refused("dangling-out", B | M, TL_EINVALID, "climbs above");
}

static void test_escapes_refused(void **state)
{
	refused("to-root", B, TL_EINVALID, "is a symbolic link to the absolute path /");
	refused("to-root/etc", B | M, TL_EINVALID, "absolute path /");
	refused("to-other", B, TL_EINVALID, "climbs above");
	refused("to-other/SECRET", B | M, TL_EINVALID, "climbs above");
	refused("sneaky", B, TL_EINVALID, "climbs above");
	refused("..", B, TL_EINVALID, "climbs above");
	refused("data/../../other", B, TL_EINVALID, "climbs above");
	refused("/etc", B, TL_EINVALID, "is not under");
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s-evil/x", root); /* a prefix, not a parent */
	refused(p, B, TL_EINVALID, "is not under");
	refused("file/x", B | M, TL_EINVALID, "is not a directory");
	refused("file/..", B, TL_EINVALID, "is not a directory");
}

static void test_loops(void **state)
{
	refused("loop-a", B, TL_EINVALID, "one symbolic link too many");
	refused("self/x", B | M, TL_EINVALID, "one symbolic link too many");
	/* 40 links in a chain are fine, 41 are not */
	char name[64], target[64];
	for (int i = 0; i < 41; i++) {
		snprintf(name, sizeof(name), "app/chain%d", i);
		if (i == 40)
			snprintf(target, sizeof(target), "data");
		else
			snprintf(target, sizeof(target), "chain%d", i + 1);
		ln(target, name);
	}
	expect("chain1", B, "data");
	refused("chain0", B, TL_EINVALID, "one symbolic link too many");
}

static void test_nofollow(void **state)
{
	expect("data/sub", NF, "data/sub");
	refused("mid/x", NF | M, TL_EINVALID, "is a symbolic link, and no component");
	refused("rel", NF, TL_EINVALID, "rel is a symbolic link");
	/* from "/", the way the deploy re-checks a planned path */
	char p[PATH_MAX + 64], *out = NULL;
	snprintf(p, sizeof(p), "%s/data/sub", rootc);
	tl_assert_ok(tl__path_walk(&out, NULL, "/", p, NF));
	assert_string_equal(out, p);
	free(out);
	snprintf(p, sizeof(p), "%s/mid", rootc);
	tl_assert_rc(TL_EINVALID, tl__path_walk(&out, NULL, "/", p, NF));
	tl_assert_error_contains("mid is a symbolic link");
}

static void test_unfenced(void **state)
{
	/* Without BENEATH (trusted binds) links are followed anywhere, and
	 * the result is still canonical. */
	char p[PATH_MAX + 64], *out = NULL, want[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/to-other/SECRET", rootc);
	tl_assert_ok(tl__path_walk(&out, NULL, "/", p, 0));
	char other[PATH_MAX];
	assert_non_null(realpath(at("other"), other));
	snprintf(want, sizeof(want), "%s/SECRET", other);
	assert_string_equal(out, want);
	free(out);
	snprintf(p, sizeof(p), "%s/to-root/../..", rootc);
	tl_assert_ok(tl__path_walk(&out, NULL, "/", p, 0));
	assert_string_equal(out, "/");
	free(out);
}

static void test_long_paths(void **state)
{
	char name[NAME_MAX + 2];
	memset(name, 'a', NAME_MAX + 1);
	name[NAME_MAX + 1] = '\0';
	refused(name, B | M, TL_EINVALID, "longer than NAME_MAX");
	name[NAME_MAX] = '\0';
	char *o = walk_ok(name, B | M, NULL); /* exactly NAME_MAX is a name */
	free(o);
	/* a missing path longer than PATH_MAX */
	size_t n = PATH_MAX + 300;
	char *lp = malloc(n + 1);
	size_t k = 0;
	while (k + 11 < n) {
		memcpy(lp + k, "abcdefghi/", 10);
		k += 10;
	}
	lp[k] = '\0';
	refused(lp, B | M, TL_EINVALID, "longer than PATH_MAX");
	free(lp);
	/* a link whose target fills the queue many times over: still bounded */
	char big[1024];
	memset(big, 0, sizeof(big));
	for (size_t i = 0; i + 5 < 1000; i += 5)
		memcpy(big + i, "self/", 5);
	ln(big, "app/fat");
	refused("fat", B | M, TL_EINVALID, "one symbolic link too many");
	/* bad arguments */
	char *out = NULL;
	tl_assert_rc(TL_EINVALID, tl__path_walk(&out, NULL, "relative", "x", 0));
	tl_assert_rc(TL_EINVALID, tl__path_walk(NULL, NULL, "/", "x", 0));
	tl_assert_rc(TL_ENOTFOUND, tl__path_walk(&out, NULL, "/nonexistent-towlion-root", "x", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_inside),
		cmocka_unit_test(test_missing_tail),
		cmocka_unit_test(test_escapes_refused),
		cmocka_unit_test(test_loops),
		cmocka_unit_test(test_nofollow),
		cmocka_unit_test(test_unfenced),
		cmocka_unit_test(test_long_paths),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
