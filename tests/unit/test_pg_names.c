/* The pure parts of the pg module: names, URLs, env file paths, reports
 * and argument checks that must fail before any connection is used. */
#include "tl_test.h"

#include "core/url.h"
#include "pg/pg_internal.h"

#include <stdlib.h>
#include <string.h>

static void test_app_names(void **state)
{
	tl_buf db = TL_BUF_INIT, role = TL_BUF_INIT;
	tl_assert_ok(tl_pg_app_names(&db, &role, "my-app"));
	assert_string_equal(db.ptr, "my_app_db");
	assert_string_equal(role.ptr, "my_app_user");
	tl_assert_ok(tl_pg_app_names(&db, NULL, "a1"));
	assert_string_equal(db.ptr, "a1_db");
	assert_string_equal(role.ptr, "my_app_user"); /* untouched */
	/* The longest app name still fits PostgreSQL's 63-byte identifiers. */
	const char *longest = "a234567890123456789012345678901b";
	assert_int_equal(strlen(longest), TL_APP_NAME_MAX);
	tl_assert_ok(tl_pg_app_names(&db, &role, longest));
	assert_true(role.size <= 63);
	tl_buf_dispose(&db);
	tl_buf_dispose(&role);
}

static void test_preview_names(void **state)
{
	tl_buf schema = TL_BUF_INIT, role = TL_BUF_INIT;
	tl_assert_ok(tl_pg_preview_names(&schema, &role, "shop-api", 7));
	assert_string_equal(schema.ptr, "pr_7");
	assert_string_equal(role.ptr, "shop_api_pr_7");
	tl_assert_ok(tl_pg_preview_names(&schema, &role, "a234567890123456789012345678901b",
	                                 2147483648u));
	assert_string_equal(schema.ptr, "pr_2147483648");
	assert_true(role.size <= 63);
	tl_assert_rc(TL_EINVALID, tl_pg_preview_names(&schema, &role, "shop", 0));
	assert_string_equal(schema.ptr, "pr_2147483648"); /* untouched on failure */
	tl_buf_dispose(&schema);
	tl_buf_dispose(&role);
}

static void test_hostile_names_refused(void **state)
{
	static const char *bad[] = {
		"",         "A",        "a",      "-a",      "a-",        "a--b",      "a_b",
		"a b",      "a\"b",     "a'b",    "a;b",     "x\"; DROP DATABASE postgres; --",
		"caf\xc3\xa9", "shop-pr-3", "a2345678901234567890123456789012c", "a\nb",
	};
	tl_buf db = TL_BUF_INIT;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl_assert_rc(TL_EINVALID, tl_pg_app_names(&db, NULL, bad[i]));
		tl_assert_rc(TL_EINVALID, tl_pg_preview_names(&db, NULL, bad[i], 1));
	}
	tl_assert_rc(TL_EINVALID, tl_pg_app_names(&db, NULL, NULL));
	assert_null(db.ptr);
}

static void test_url_build_encodes(void **state)
{
	tl_buf url = TL_BUF_INIT;
	tl_assert_ok(tl_pg_url_build(&url, "shop_user", "p@ss:w/rd%?#", "postgres:5432", "shop_db"));
	assert_string_equal(url.ptr, "postgresql://shop_user:p%40ss%3Aw%2Frd%25%3F%23@postgres:5432/"
	                             "shop_db");
	/* It round-trips through the URL parser the platform uses. */
	tl__url u;
	tl_assert_ok(tl__url_parse(&u, url.ptr, "DATABASE_URL"));
	assert_string_equal(u.user, "shop_user");
	assert_string_equal(u.password, "p@ss:w/rd%?#");
	assert_string_equal(u.host, "postgres");
	assert_int_equal(u.port, 5432);
	assert_string_equal(u.path, "/shop_db");
	tl__url_dispose(&u);
	tl_assert_ok(tl_pg_url_build(&url, "u", "Ab9-_~", "[::1]:5433", "d"));
	assert_string_equal(url.ptr, "postgresql://u:Ab9-_~@[::1]:5433/d");
	/* A bad host is refused and the buffer kept. */
	tl_assert_rc(TL_EINVALID, tl_pg_url_build(&url, "u", "p", "bad host:1", "d"));
	tl_assert_error_contains("TOWLION_PG_APP_HOST");
	tl_assert_rc(TL_EINVALID, tl_pg_url_build(&url, "u", "p", "host", "d"));
	tl_assert_rc(TL_EINVALID, tl_pg_url_build(&url, "", "p", "h:1", "d"));
	assert_string_equal(url.ptr, "postgresql://u:Ab9-_~@[::1]:5433/d");
	tl_buf_dispose(&url);
}

static void test_env_paths(void **state)
{
	tl_ctx *ctx = tl_test_ctx(0);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", "/srv/state"));
	tl_buf p = TL_BUF_INIT;
	tl_assert_ok(tl_app_env_path(&p, ctx, "blog"));
	assert_string_equal(p.ptr, "/srv/state/apps/blog/app.env");
	tl_assert_ok(tl_preview_env_path(&p, ctx, "blog", 12));
	assert_string_equal(p.ptr, "/srv/state/apps/blog/previews/pr-12.env");
	tl_assert_rc(TL_EINVALID, tl_app_env_path(&p, ctx, "../etc"));
	tl_assert_rc(TL_EINVALID, tl_preview_env_path(&p, ctx, "blog", 0));
	assert_string_equal(p.ptr, "/srv/state/apps/blog/previews/pr-12.env");
	/* The default follows TOWLION_DATA_DIR. */
	tl_ctx *ctx2 = tl_test_ctx(0);
	tl_assert_ok(tl_ctx_config_set(ctx2, "TOWLION_DATA_DIR", "/d"));
	tl_assert_ok(tl_app_env_path(&p, ctx2, "blog"));
	assert_string_equal(p.ptr, "/d/towlion/apps/blog/app.env");
	tl_buf_dispose(&p);
	tl_ctx_free(ctx);
	tl_ctx_free(ctx2);
}

static void test_database_url_from_env_file(void **state)
{
	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = tl_test_ctx(0);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", dir));
	tl_buf url = TL_BUF_INIT;
	tl_assert_rc(TL_ENOTFOUND, tl_pg_database_url(&url, ctx, "blog", 0));
	tl_assert_error_contains("towlion db create blog");
	char path[512];
	snprintf(path, sizeof(path), "%s/apps", dir);
	tl_assert_ok(tl__mkdir_p(path, 0700));
	snprintf(path, sizeof(path), "%s/apps/blog", dir);
	tl_assert_ok(tl__mkdir_p(path, 0700));
	snprintf(path, sizeof(path), "%s/apps/blog/app.env", dir);
	tl_test_write_file(path, "OTHER=1\nDATABASE_URL=postgresql://blog_user:x@h:1/blog_db\n",
	                   0600);
	tl_assert_ok(tl_pg_database_url(&url, ctx, "blog", 0));
	assert_string_equal(url.ptr, "postgresql://blog_user:x@h:1/blog_db");
	tl_assert_rc(TL_ENOTFOUND, tl_pg_database_url(&url, ctx, "blog", 3));
	tl_assert_rc(TL_EINVALID, tl_pg_database_url(&url, ctx, "Blog", 0));
	tl_buf_dispose(&url);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

static void test_env_password_only_for_its_role(void **state)
{
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/app.env", dir);
	tl__pg_envstate st;
	tl_assert_ok(tl__pg_env_read(&st, path, "blog_user")); /* missing file */
	assert_null(st.url);
	assert_null(st.password);
	tl_test_write_file(path, "DATABASE_URL=postgresql://other_user:pw@h:1/blog_db\n", 0600);
	tl_assert_ok(tl__pg_env_read(&st, path, "blog_user"));
	assert_non_null(st.url);
	assert_null(st.password);
	tl__pg_envstate_dispose(&st);
	tl_assert_ok(tl__pg_env_write(path, "postgresql://blog_user:p%40w@h:1/blog_db"));
	tl_assert_ok(tl__pg_env_read(&st, path, "blog_user"));
	assert_string_equal(st.password, "p@w");
	tl__pg_envstate_dispose(&st);
	int removed = 0;
	tl_assert_ok(tl__pg_env_unset(path, 0, &removed));
	assert_int_equal(removed, 1);
	tl_assert_ok(tl__pg_env_unset(path, 0, &removed));
	assert_int_equal(removed, 0);
	tl_test_rmdir(dir);
}

static void test_arguments_checked_first(void **state)
{
	/* A NULL connection, bad names and a missing confirmation are refused
	 * before anything is used. */
	tl_pg_report *r = NULL;
	tl_assert_rc(TL_EINVALID, tl_pg_app_create(&r, NULL, "blog", NULL));
	tl_assert_rc(TL_EINVALID, tl_pg_app_drop(&r, NULL, "blog", NULL));
	tl_assert_rc(TL_EINVALID, tl_pg_preview_create(&r, NULL, "blog", 1, NULL));
	tl_assert_rc(TL_EINVALID, tl_pg_list(NULL, NULL));
	assert_null(r);
	tl_pg_options o;
	tl_assert_ok(tl_pg_options_init(&o, TL_PG_OPTIONS_VERSION));
	assert_int_equal(o.flags, 0);
	tl_assert_rc(TL_EINVALID, tl_pg_options_init(&o, 99));
	/* NULL is fine for every free function and getter. */
	tl_pg_free(NULL);
	tl_pg_report_free(NULL);
	tl_pg_db_list_free(NULL);
	assert_int_equal(tl_pg_report_action_count(NULL), 0);
	assert_null(tl_pg_report_action(NULL, 0));
	assert_int_equal(tl_pg_server_version(NULL), 0);
}

static void test_unreachable_server(void **state)
{
	tl_ctx *ctx = tl_test_ctx(0);
	/* Port 1 on loopback: nothing listens there. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL",
	                               "postgresql://postgres:secretpw@127.0.0.1:1/postgres"));
	tl_pg *pg = NULL;
	tl_assert_rc(TL_EUNAVAILABLE, tl_pg_connect(&pg, ctx));
	assert_null(pg);
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_PG);
	assert_string_equal(tl_error_last()->upstream, "08001");
	assert_null(strstr(tl_error_last()->message, "secretpw"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL", "postgresql://u:secretpw@h:notaport/"));
	tl_assert_rc(TL_EINVALID, tl_pg_connect(&pg, ctx));
	assert_null(strstr(tl_error_last()->message, "secretpw"));
	tl_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_names),
		cmocka_unit_test(test_preview_names),
		cmocka_unit_test(test_hostile_names_refused),
		cmocka_unit_test(test_url_build_encodes),
		cmocka_unit_test(test_env_paths),
		cmocka_unit_test(test_database_url_from_env_file),
		cmocka_unit_test(test_env_password_only_for_its_role),
		cmocka_unit_test(test_arguments_checked_first),
		cmocka_unit_test(test_unreachable_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
