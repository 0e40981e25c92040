/* One compose mount entry split for both deploy engines
 * (lib/deploy/mount_entry.c), and a tmpfs's options as a swarm service
 * can hold them: size and mode kept, anything else refused, not dropped. */
#include "tl_test.h"
#include "deploy/mount_entry.h"

#include <string.h>

static void test_bind_entries(void **state)
{
	(void)state;
	tl__mount_entry m;
	assert_int_equal(tl__mount_entry_bind(&m, "web", "data:/var/lib/x:ro"), TL_OK);
	assert_string_equal(m.source, "data");
	assert_string_equal(m.target, "/var/lib/x");
	assert_true(m.read_only);
	tl__mount_entry_free(&m);
	assert_int_equal(tl__mount_entry_bind(&m, "web", "/srv/a:/a"), TL_OK);
	assert_string_equal(m.source, "/srv/a");
	assert_string_equal(m.target, "/a");
	assert_false(m.read_only);
	tl__mount_entry_free(&m);
	assert_int_equal(tl__mount_entry_bind(&m, "web", "/srv/a:/a:rw"), TL_OK);
	assert_false(m.read_only);
	tl__mount_entry_free(&m);
	assert_int_equal(tl__mount_entry_bind(&m, "web", "lonely"), TL_EINVALID);
	assert_non_null(strstr(tl_error_last()->message, "service web"));
	assert_null(m.buf);
}

static void test_tmpfs_entries(void **state)
{
	(void)state;
	tl__mount_entry m;
	assert_int_equal(tl__mount_entry_tmpfs(&m, "/run:size=64m,mode=1777"), TL_OK);
	assert_string_equal(m.target, "/run");
	assert_string_equal(m.options, "size=64m,mode=1777");
	assert_null(m.source);
	tl__mount_entry_free(&m);
	assert_int_equal(tl__mount_entry_tmpfs(&m, "/tmp"), TL_OK);
	assert_string_equal(m.target, "/tmp");
	assert_null(m.options);
	tl__mount_entry_free(&m);
	assert_int_equal(tl__mount_entry_tmpfs(&m, "/tmp:"), TL_OK);
	assert_null(m.options);
	tl__mount_entry_free(&m);
}

static void test_tmpfs_swarm_options(void **state)
{
	(void)state;
	long long size;
	int mode;
	assert_int_equal(tl__tmpfs_swarm_options(&size, &mode, "web", "/run", "size=64m,mode=1777"),
	                 TL_OK);
	assert_int_equal(size, 64LL << 20);
	assert_int_equal(mode, 01777);
	assert_int_equal(tl__tmpfs_swarm_options(&size, &mode, "web", "/run", NULL), TL_OK);
	assert_int_equal(size, 0);
	assert_int_equal(mode, 0);
	assert_int_equal(tl__tmpfs_swarm_options(&size, &mode, "web", "/run", "size=4096"), TL_OK);
	assert_int_equal(size, 4096);
	/* an option a swarm tmpfs cannot carry is refused, never dropped */
	assert_int_equal(tl__tmpfs_swarm_options(&size, &mode, "web", "/run", "size=1m,noexec"),
	                 TL_EUNSUPPORTED);
	assert_non_null(strstr(tl_error_last()->message, "noexec"));
	assert_non_null(strstr(tl_error_last()->message, "service web"));
	/* loose numbers are refused: a sign, junk, a mode that is not octal */
	assert_int_equal(tl__tmpfs_swarm_options(&size, &mode, "web", "/run", "size=-5"), TL_EINVALID);
	assert_int_equal(tl__tmpfs_swarm_options(&size, &mode, "web", "/run", "size=64x"),
	                 TL_EINVALID);
	assert_int_equal(tl__tmpfs_swarm_options(&size, &mode, "web", "/run", "size=0"), TL_EINVALID);
	assert_int_equal(tl__tmpfs_swarm_options(&size, &mode, "web", "/run", "mode=0999"),
	                 TL_EUNSUPPORTED);
	assert_int_equal(tl__tmpfs_swarm_options(&size, &mode, "web", "/run", "mode="),
	                 TL_EUNSUPPORTED);
	assert_int_equal(tl__tmpfs_swarm_options(&size, &mode, "web", "/run", "mode=17777"),
	                 TL_EUNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_entries),
		cmocka_unit_test(test_tmpfs_entries),
		cmocka_unit_test(test_tmpfs_swarm_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
