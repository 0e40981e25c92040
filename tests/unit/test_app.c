/* The app registry on a real filesystem (no services). */
#include "tl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	char *dir;
	tl_ctx *ctx;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = tl_test_tmpdir();
	f->ctx = tl_test_ctx(0);
	char sd[512];
	snprintf(sd, sizeof(sd), "%s/state", f->dir);
	tl_assert_ok(tl_ctx_config_set(f->ctx, "TOWLION_STATE_DIR", sd));
	tl_assert_ok(tl_ctx_config_set(f->ctx, "TOWLION_DOMAIN", "example.com"));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	tl_ctx_free(f->ctx);
	tl_test_rmdir(f->dir);
	free(f);
	return 0;
}

static void test_create_open_list(void **state)
{
	fixture *f = *state;
	tl_app *a = NULL;
	tl_assert_ok(tl_app_create(&a, f->ctx, "shop", NULL));
	assert_string_equal(tl_app_name(a), "shop");
	assert_int_equal(tl_app_domain_count(a), 1);
	assert_string_equal(tl_app_domain_at(a, 0), "shop.example.com");
	assert_null(tl_app_web_service(a));
	assert_int_equal(tl_app_keep_images(a), TL_APP_KEEP_IMAGES_DEFAULT);
	assert_int_equal(tl_app_drain_ms(a), TL_APP_DRAIN_MS_DEFAULT);
	assert_true(tl_app_created(a) > 1700000000);
	tl_app_free(a);

	const char *doms[] = {"blog.example.org", "www.blog.example.org", NULL};
	tl_app_options o = TL_APP_OPTIONS_INIT;
	o.domains = doms;
	o.web_service = "web";
	o.port = 3000;
	o.health_path = "/healthz";
	o.release_command = "alembic upgrade head";
	o.drain_ms = 0;
	o.keep_images = 2;
	tl_assert_ok(tl_app_create(NULL, f->ctx, "blog", &o));
	tl_assert_ok(tl_app_open(&a, f->ctx, "blog"));
	assert_int_equal(tl_app_domain_count(a), 2);
	assert_string_equal(tl_app_domain_at(a, 1), "www.blog.example.org");
	assert_null(tl_app_domain_at(a, 2));
	assert_string_equal(tl_app_web_service(a), "web");
	assert_int_equal(tl_app_port(a), 3000);
	assert_string_equal(tl_app_health_path(a), "/healthz");
	assert_string_equal(tl_app_release_command(a), "alembic upgrade head");
	assert_int_equal(tl_app_drain_ms(a), 0);
	assert_int_equal(tl_app_keep_images(a), 2);
	/* The registry file is private and whole. */
	char path[600];
	snprintf(path, sizeof(path), "%s/app.json", tl_app_state_dir(a));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	tl_app_free(a);

	tl_app_list *l = NULL;
	tl_assert_ok(tl_app_list_load(&l, f->ctx));
	assert_int_equal(tl_app_list_count(l), 2);
	assert_string_equal(tl_app_name(tl_app_list_at(l, 0)), "blog");
	assert_string_equal(tl_app_name(tl_app_list_at(l, 1)), "shop");
	assert_null(tl_app_list_at(l, 2));
	tl_app_list_free(l);
}

static void test_refusals_change_nothing(void **state)
{
	fixture *f = *state;
	tl_assert_ok(tl_app_create(NULL, f->ctx, "shop", NULL));
	tl_assert_rc(TL_EEXISTS, tl_app_create(NULL, f->ctx, "shop", NULL));
	const char *taken[] = {"shop.example.com", NULL};
	tl_app_options o = TL_APP_OPTIONS_INIT;
	o.domains = taken;
	tl_assert_rc(TL_ECONFLICT, tl_app_create(NULL, f->ctx, "other", &o));
	tl_assert_error_contains("belongs to app shop");
	tl_app *a = (tl_app *)0x1;
	tl_assert_rc(TL_ENOTFOUND, tl_app_open(&a, f->ctx, "other"));
	assert_ptr_equal(a, (tl_app *)0x1);
	tl_assert_error_contains("towlion app create other");

	const char *bad_dom[] = {"Not_A_Domain", NULL};
	o.domains = bad_dom;
	tl_assert_rc(TL_EINVALID, tl_app_create(NULL, f->ctx, "other", &o));
	const char *twice[] = {"a.example.com", "a.example.com", NULL};
	o.domains = twice;
	tl_assert_rc(TL_EINVALID, tl_app_create(NULL, f->ctx, "other", &o));
	o = (tl_app_options)TL_APP_OPTIONS_INIT;
	o.port = 70000;
	tl_assert_rc(TL_EINVALID, tl_app_create(NULL, f->ctx, "other", &o));
	o.port = 0;
	o.health_path = "health";
	tl_assert_rc(TL_EINVALID, tl_app_create(NULL, f->ctx, "other", &o));
	o.health_path = NULL;
	o.release_command = "a\nb";
	tl_assert_rc(TL_EINVALID, tl_app_create(NULL, f->ctx, "other", &o));
	tl_assert_rc(TL_EINVALID, tl_app_create(NULL, f->ctx, "Bad_Name", NULL));
	tl_assert_rc(TL_EINVALID, tl_app_create(NULL, f->ctx, "shop-pr-1", NULL));
	tl_assert_rc(TL_EINVALID, tl_app_create(NULL, f->ctx, "../../etc", NULL));
	/* Without TOWLION_DOMAIN an app needs a domain. */
	tl_assert_ok(tl_ctx_config_set(f->ctx, "TOWLION_DOMAIN", ""));
	tl_assert_rc(TL_EINVALID, tl_app_create(NULL, f->ctx, "other", NULL));
	tl_assert_error_contains("--domain");

	tl_app_list *l = NULL;
	tl_assert_ok(tl_app_list_load(&l, f->ctx));
	assert_int_equal(tl_app_list_count(l), 1);
	tl_app_list_free(l);
}

static void test_unregister(void **state)
{
	fixture *f = *state;
	tl_assert_ok(tl_app_create(NULL, f->ctx, "gone", NULL));
	tl_assert_ok(tl_app_unregister(f->ctx, "gone"));
	tl_assert_rc(TL_ENOTFOUND, tl_app_unregister(f->ctx, "gone"));
	tl_app *a = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_app_open(&a, f->ctx, "gone"));
	/* The name is free again. */
	tl_assert_ok(tl_app_create(NULL, f->ctx, "gone", NULL));
}

static void test_concurrent_creates_register_once(void **state)
{
	fixture *f = *state;
	enum { N = 6 };
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			tl_ctx *ctx = NULL;
			tl_ctx_options o = TL_CTX_OPTIONS_INIT;
			o.flags = TL_CTX_NO_CONFIG_FILE | TL_CTX_NO_ENV;
			tl_ctx_new(&ctx, &o);
			tl_ctx_config_set(ctx, "TOWLION_STATE_DIR",
			                  tl_ctx_config_get(f->ctx, "TOWLION_STATE_DIR"));
			tl_ctx_config_set(ctx, "TOWLION_DOMAIN", "example.com");
			int rc = tl_app_create(NULL, ctx, "race", NULL);
			_exit(rc == TL_OK ? 0 : rc == TL_EEXISTS ? 1 : 2);
		}
	}
	int ok = 0, exists = 0;
	for (int i = 0; i < N; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		assert_true(WIFEXITED(st));
		ok += WEXITSTATUS(st) == 0;
		exists += WEXITSTATUS(st) == 1;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(exists, N - 1);
}

/* A preview's record is ours, and still read strictly: a "pr" that is
 * not its own (one that wraps to it as a uint32) or a negative time is
 * refused, naming the file, instead of being listed. */
static void test_preview_record_strict(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = {
	    "\"pr\": 4294967303, \"created\": 1",  /* 7 + 2^32 */
	    "\"pr\": \"7\", \"created\": 1",
	    "\"pr\": 7, \"created\": -1",
	    "\"pr\": 7, \"created\": 1.5",
	    "\"pr\": 7, \"created\": 1, \"updated\": -5",
	};
	char dir[600], path[700], text[900];
	snprintf(dir, sizeof(dir), "%s/state/apps/shop/previews/pr-7", f->dir);
	snprintf(path, sizeof(path), "%s/preview.json", dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
		assert_int_equal(system(cmd), 0);
		snprintf(text, sizeof(text),
		         "{\"schema\": 1, \"app\": \"shop\", %s, \"source\": \"path:/x\", "
		         "\"commit\": \"\", \"release\": \"\", \"url\": \"\", \"repo\": \"\", "
		         "\"comment_url\": \"\"}",
		         bad[i]);
		tl_test_write_file(path, text, 0600);
		tl_preview_list *l = NULL;
		int rc = tl_preview_list_load(&l, f->ctx, "shop");
		if (rc != TL_EINVALID)
			fail_msg("%s: rc %d, want TL_EINVALID", bad[i], rc);
		tl_assert_error_contains("preview.json");
		assert_null(l);
	}
}

/* The registry's numbers are read strictly too: a string, a fraction, a
 * negative or a wrapping value names the file and the key instead of
 * becoming port 0 or a drain of -1 ms. */
static void test_registry_numbers_strict(void **state)
{
	fixture *f = *state;
	tl_app *a = NULL;
	tl_assert_ok(tl_app_create(&a, f->ctx, "shop", NULL));
	char path[700];
	snprintf(path, sizeof(path), "%s/app.json", tl_app_state_dir(a));
	tl_app_free(a);
	static const struct {
		const char *fields, *key;
	} bad[] = {
	    {"\"port\": \"8000\"", "\"port\""},
	    {"\"port\": 4294975296", "\"port\""}, /* 8000 + 2^32 */
	    {"\"port\": -1", "\"port\""},
	    {"\"port\": 80.5", "\"port\""},
	    {"\"drain_ms\": -1", "\"drain_ms\""},
	    {"\"drain_ms\": 600001", "\"drain_ms\""},
	    {"\"keep_images\": -3", "\"keep_images\""},
	    {"\"keep_images\": \"3\"", "\"keep_images\""},
	    {"\"created\": -5", "\"created\""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[600];
		snprintf(text, sizeof(text),
		         "{\"schema\": 1, \"name\": \"shop\", \"domains\": [\"shop.example.com\"], %s}",
		         bad[i].fields);
		tl_test_write_file(path, text, 0600);
		a = (tl_app *)0x1;
		int rc = tl_app_open(&a, f->ctx, "shop");
		if (rc != TL_EINVALID)
			fail_msg("%s: rc %d, want TL_EINVALID", bad[i].fields, rc);
		assert_ptr_equal(a, (tl_app *)0x1);
		tl_assert_error_contains("app.json");
		tl_assert_error_contains(bad[i].key);
	}
	/* absent numbers keep their defaults; in range they are read */
	tl_test_write_file(path,
	                   "{\"schema\": 1, \"name\": \"shop\", \"domains\": [\"shop.example.com\"], "
	                   "\"port\": 8000, \"keep_images\": 0}",
	                   0600);
	tl_assert_ok(tl_app_open(&a, f->ctx, "shop"));
	assert_int_equal(tl_app_port(a), 8000);
	assert_int_equal(tl_app_drain_ms(a), TL_APP_DRAIN_MS_DEFAULT);
	assert_int_equal(tl_app_keep_images(a), TL_APP_KEEP_IMAGES_DEFAULT);
	assert_int_equal(tl_app_created(a), 0);
	tl_app_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_open_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preview_record_strict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_numbers_strict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_creates_register_once, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
