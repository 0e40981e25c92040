/* The pure parts of the redis module: users, prefixes, URLs, error
 * mapping, password hashes as ACL GETUSER lists them. */
#include "tl_test.h"

#include "redis/redis_internal.h"

#include <string.h>

static void test_names(void **state)
{
	tl_buf u = TL_BUF_INIT, p = TL_BUF_INIT;
	tl_assert_ok(tl_redis_names(&u, &p, "shop", 0));
	assert_string_equal(u.ptr, "shop");
	assert_string_equal(p.ptr, "shop:");
	tl_assert_ok(tl_redis_names(&u, &p, "my-shop", 42));
	assert_string_equal(u.ptr, "my-shop-pr-42");
	assert_string_equal(p.ptr, "my-shop-pr-42:");
	tl_assert_ok(tl_redis_names(NULL, &p, "a1", 2147483648u));
	assert_string_equal(p.ptr, "a1-pr-2147483648:");
	tl_assert_rc(TL_EINVALID, tl_redis_names(&u, &p, "Shop", 0));
	assert_string_equal(u.ptr, "my-shop-pr-42"); /* untouched */
	tl_assert_rc(TL_EINVALID, tl_redis_names(&u, &p, "shop*", 0));
	tl_assert_rc(TL_EINVALID, tl_redis_names(&u, &p, "shop-pr-1", 0));
	tl_assert_rc(TL_EINVALID, tl_redis_names(&u, &p, NULL, 0));
	tl_buf_dispose(&u);
	tl_buf_dispose(&p);
}

static void test_url_build(void **state)
{
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl_redis_url_build(&b, "shop", "p@ss:w/rd", "redis:6379", 0));
	assert_string_equal(b.ptr, "redis://shop:p%40ss%3Aw%2Frd@redis:6379/0");
	tl_assert_ok(tl_redis_url_build(&b, "a-pr-1", "x", "[::1]:6380", 3));
	assert_string_equal(b.ptr, "redis://a-pr-1:x@[::1]:6380/3");
	tl_assert_rc(TL_EINVALID, tl_redis_url_build(&b, "a", "x", "redis", 0));
	tl_assert_rc(TL_EINVALID, tl_redis_url_build(&b, "a", "x", "redis:6379", 16));
	tl_assert_rc(TL_EINVALID, tl_redis_url_build(&b, "a", "", "redis:6379", 0));
	assert_string_equal(b.ptr, "redis://a-pr-1:x@[::1]:6380/3");
	tl_buf_dispose(&b);
}

static void test_errors(void **state)
{
	assert_int_equal(tl__redis_error_reply("authenticate",
	                                       "WRONGPASS invalid username-password pair"),
	                 TL_EAUTH);
	assert_string_equal(tl_error_last()->upstream, "WRONGPASS");
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_REDIS);
	tl_assert_error_contains("TOWLION_REDIS_URL");
	assert_int_equal(tl__redis_error_reply("ACL SETUSER", "NOPERM this user has no permissions"),
	                 TL_EAUTH);
	assert_int_equal(tl__redis_error_reply("GET", "NOAUTH Authentication required."), TL_EAUTH);
	assert_int_equal(tl__redis_error_reply("GET", "LOADING Redis is loading"), TL_EUNAVAILABLE);
	assert_int_equal(tl__redis_error_reply("ACL", "ERR unknown command 'ACL'"), TL_EUNSUPPORTED);
	assert_int_equal(tl__redis_error_reply("SET", "ERR syntax error"), TL_ERROR);
	assert_string_equal(tl_error_last()->upstream, "ERR");
}

static void test_password_hash(void **state)
{
	char h[65];
	/* The value Redis 7 listed for ">secretpw". */
	tl__redis_password_hash(h, "secretpw");
	assert_string_equal(h, "773d8f92f07dec1e40c76ff36e0078dd0cff6e910186cf3a36d6940f9c9cd9bf");
}

static void test_config_errors(void **state)
{
	tl_ctx *ctx = tl_test_ctx(0);
	tl_redis *r = NULL;
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_REDIS_URL", "rediss://h:6379"));
	tl_assert_rc(TL_EUNSUPPORTED, tl_redis_connect(&r, ctx));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_REDIS_URL", "http://h:6379"));
	tl_assert_rc(TL_EINVALID, tl_redis_connect(&r, ctx));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_REDIS_URL", "redis://h:6379/99"));
	tl_assert_rc(TL_EINVALID, tl_redis_connect(&r, ctx));
	assert_null(r);
	tl_redis_options o;
	tl_assert_ok(tl_redis_options_init(&o, TL_REDIS_OPTIONS_VERSION));
	assert_int_equal(o.flags, 0);
	tl_assert_rc(TL_EINVALID, tl_redis_options_init(&o, 0));
	tl_redis_free(NULL);
	tl_redis_report_free(NULL);
	tl_redis_stats_free(NULL);
	assert_int_equal(tl_redis_stats_queue_count(NULL), 0);
	tl_ctx_free(ctx);
}

/* INFO fields: digits to the line's end; a missing or malformed one is an
 * error naming it (it was a silent 0). */
static void test_info_field(void **state)
{
	const char *info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n"
	                   "maxmemory:0\r\nbad_sign:-1\r\nbad_tail:12x\r\nbad_space: 12\r\n"
	                   "bad_wrap:18446744073709551616\r\nbad_empty:\r\nlast:7";
	uint64_t v = 9;
	tl_assert_ok(tl__redis_info_field(&v, info, "used_memory"));
	assert_int_equal(v, 1048576);
	tl_assert_ok(tl__redis_info_field(&v, info, "maxmemory"));
	assert_int_equal(v, 0);
	tl_assert_ok(tl__redis_info_field(&v, info, "last"));
	assert_int_equal(v, 7);
	static const char *const bad[] = {"used_memory_human", "bad_sign", "bad_tail", "bad_space",
	                                  "bad_wrap", "bad_empty"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 9;
		tl_assert_rc(TL_EIO, tl__redis_info_field(&v, info, bad[i]));
		assert_int_equal(v, 9);
		tl_assert_error_contains(bad[i]);
		tl_assert_error_contains("whole number");
	}
	tl_assert_rc(TL_EIO, tl__redis_info_field(&v, info, "connected_clients"));
	tl_assert_error_contains("no connected_clients field");
	tl_assert_rc(TL_EIO, tl__redis_info_field(&v, "", "used_memory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_url_build),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_password_hash),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_info_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
