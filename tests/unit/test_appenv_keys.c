/* An app's settings (towlion/appenv.h) on a real filesystem, no services:
 * the key rules, the store, atomic refusals, the production-only flag and
 * the app lock. */
#include "tl_test.h"

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	char *dir;
	tl_ctx *ctx;
	char path[600];
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
	tl_app *a = NULL;
	tl_assert_ok(tl_app_create(&a, f->ctx, "shop", NULL));
	tl_app_free(a);
	snprintf(f->path, sizeof(f->path), "%s/apps/shop/settings.env", sd);
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

static void test_key_rules(void **state)
{
	(void)state;
	const char *good[] = {"A", "_", "EMAIL_API_KEY", "lower_case", "A1", "S3", "REDIS",
	                      "DATABASE_URL_RO", "APP_DOMAINS", "TOWLION"};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		tl_assert_ok(tl_appenv_check_key(good[i]));
	/* Each bad key, and a word of the rule its message must give. */
	const char *bad[][2] = {
		{"", "empty"},
		{"1A", "digit"},
		{"A-B", "A-Z"},
		{"A B", "A-Z"},
		{"A=B", "A-Z"},
		{"ÄB", "A-Z"},
		{"DATABASE_URL", "platform"},
		{"APP_DOMAIN", "platform"},
		{"REDIS_URL", "REDIS_"},
		{"REDIS_KEY_PREFIX", "REDIS_"},
		{"REDIS_ANYTHING", "REDIS_"},
		{"S3_BUCKET", "S3_"},
		{"S3_SECRET_KEY", "S3_"},
		{"TOWLION_PRODUCTION_ONLY", "TOWLION_"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		tl_assert_rc(TL_EINVALID, tl_appenv_check_key(bad[i][0]));
		assert_non_null(strstr(tl_error_last()->message, bad[i][1]));
	}
	char longkey[300];
	memset(longkey, 'K', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	tl_assert_rc(TL_EINVALID, tl_appenv_check_key(longkey));
	/* A key that breaks the name rules may be a value: never quoted. */
	tl_assert_rc(TL_EINVALID, tl_appenv_check_key("c2VjcmV0-dmFsdWU"));
	assert_null(strstr(tl_error_last()->message, "c2VjcmV0"));
}

static char *value_of(fixture *f, const char *key, int *prod)
{
	tl_appenv *e = NULL;
	tl_assert_ok(tl_appenv_load(&e, f->ctx, "shop"));
	char *v = NULL;
	for (size_t i = 0; i < tl_appenv_count(e); i++)
		if (!strcmp(tl_appenv_key_at(e, i), key)) {
			v = strdup(tl_appenv_value_at(e, i));
			if (prod)
				*prod = tl_appenv_production_only_at(e, i);
		}
	tl_appenv_free(e);
	return v;
}

static void test_set_unset(void **state)
{
	fixture *f = *state;
	tl_appenv *e = NULL;
	tl_assert_ok(tl_appenv_load(&e, f->ctx, "shop"));
	assert_int_equal(tl_appenv_count(e), 0); /* no file yet: none */
	tl_appenv_free(e);

	const char *k[] = {"A", "B", "A"};
	const char *v[] = {"1", "multi\nline \"q\" 'q' $X \\ ✓", "3"};
	tl_assert_ok(tl_appenv_set(f->ctx, "shop", k, v, 3, NULL));
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *a = value_of(f, "A", NULL), *b = value_of(f, "B", NULL);
	assert_string_equal(a, "3"); /* given twice: the last wins */
	assert_string_equal(b, v[1]);
	free(a);
	free(b);

	/* Rendered and read back: the same pairs. */
	tl_assert_ok(tl_appenv_load(&e, f->ctx, "shop"));
	tl_buf text = TL_BUF_INIT;
	tl_assert_ok(tl_appenv_render(&text, e));
	tl_envfile *back = NULL;
	tl_assert_ok(tl_envfile_parse(&back, text.ptr, text.size, "rendered"));
	assert_string_equal(tl_envfile_get(back, "B"), v[1]);
	tl_envfile_free(back);
	tl_buf_dispose(&text);
	tl_appenv_free(e);

	const char *gone[] = {"A", "NEVER_SET"};
	tl_assert_ok(tl_appenv_unset(f->ctx, "shop", gone, 2, NULL));
	assert_null(value_of(f, "A", NULL));
	b = value_of(f, "B", NULL);
	assert_non_null(b);
	free(b);
}

static void test_refusals_change_nothing(void **state)
{
	fixture *f = *state;
	const char *k0[] = {"KEEP"};
	const char *v0[] = {"kept"};
	tl_assert_ok(tl_appenv_set(f->ctx, "shop", k0, v0, 1, NULL));
	char *before = tl_test_read_file(f->path);

	const char *k1[] = {"NEW", "S3_BUCKET"};
	const char *v1[] = {"x", "y"};
	tl_assert_rc(TL_EINVALID, tl_appenv_set(f->ctx, "shop", k1, v1, 2, NULL));
	assert_non_null(strstr(tl_error_last()->message, "S3_BUCKET"));
	assert_non_null(strstr(tl_error_last()->message, "key 2 of 2"));
	const char *k2[] = {"NEW", "9X"};
	tl_assert_rc(TL_EINVALID, tl_appenv_set(f->ctx, "shop", k2, v1, 2, NULL));
	assert_null(strstr(tl_error_last()->message, "9X"));
	char *big = malloc(TL_APPENV_VALUE_MAX + 2);
	memset(big, 'v', TL_APPENV_VALUE_MAX + 1);
	big[TL_APPENV_VALUE_MAX + 1] = '\0';
	const char *v3[] = {"x", big};
	const char *k3[] = {"NEW", "BIG"};
	tl_assert_rc(TL_EINVALID, tl_appenv_set(f->ctx, "shop", k3, v3, 2, NULL));
	assert_null(strstr(tl_error_last()->message, "vvvv"));
	free(big);
	const char *k4[] = {"DATABASE_URL"};
	tl_assert_rc(TL_EINVALID, tl_appenv_unset(f->ctx, "shop", k4, 1, NULL));
	tl_assert_rc(TL_ENOTFOUND, tl_appenv_set(f->ctx, "nope", k0, v0, 1, NULL));
	tl_assert_rc(TL_EINVALID, tl_appenv_set(f->ctx, "Bad_Name", k0, v0, 1, NULL));
	tl_assert_rc(TL_EINVALID, tl_appenv_set(f->ctx, "shop", k0, v0, 0, NULL));
	/* A dry run checks and writes nothing. */
	tl_appenv_options o = TL_APPENV_OPTIONS_INIT;
	o.flags = TL_APPENV_DRY_RUN;
	const char *v5[] = {"changed"};
	tl_assert_ok(tl_appenv_set(f->ctx, "shop", k0, v5, 1, &o));
	tl_assert_rc(TL_EINVALID, tl_appenv_set(f->ctx, "shop", k4, v5, 1, &o));

	char *after = tl_test_read_file(f->path);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_production_only(void **state)
{
	fixture *f = *state;
	tl_appenv_options o = TL_APPENV_OPTIONS_INIT;
	o.flags = TL_APPENV_PRODUCTION_ONLY;
	const char *k[] = {"P1", "P2"};
	const char *v[] = {"1", "2"};
	tl_assert_ok(tl_appenv_set(f->ctx, "shop", k, v, 2, &o));
	const char *k2[] = {"SHARED"};
	tl_assert_ok(tl_appenv_set(f->ctx, "shop", k2, v, 1, NULL));
	int prod = -1;
	free(value_of(f, "P1", &prod));
	assert_int_equal(prod, 1);
	free(value_of(f, "SHARED", &prod));
	assert_int_equal(prod, 0);
	/* Set again without the flag: previews get it from now on. */
	tl_assert_ok(tl_appenv_set(f->ctx, "shop", k, v, 1, NULL));
	free(value_of(f, "P1", &prod));
	assert_int_equal(prod, 0);
	free(value_of(f, "P2", &prod));
	assert_int_equal(prod, 1);
	/* Unset drops it from the list too; the meta key never lists. */
	const char *k3[] = {"P2"};
	tl_assert_ok(tl_appenv_unset(f->ctx, "shop", k3, 1, NULL));
	tl_appenv *e = NULL;
	tl_assert_ok(tl_appenv_load(&e, f->ctx, "shop"));
	for (size_t i = 0; i < tl_appenv_count(e); i++)
		assert_false(tl__str_startswith(tl_appenv_key_at(e, i), "TOWLION_"));
	tl_appenv_free(e);
	char *text = tl_test_read_file(f->path);
	assert_null(strstr(text, "TOWLION_PRODUCTION_ONLY"));
	free(text);
}

/* A deploy holds the app's lock: a change waits, then fails naming it. */
static void test_app_lock(void **state)
{
	fixture *f = *state;
	char locks[600];
	snprintf(locks, sizeof(locks), "%s/state/locks", f->dir);
	tl_assert_ok(tl__mkdir_p(locks, 0700));
	const char *k0[] = {"FIRST"};
	const char *v0[] = {"1"};
	tl_assert_ok(tl_appenv_set(f->ctx, "shop", k0, v0, 1, NULL));
	tl__lock *held = NULL;
	tl_assert_ok(tl__lock_acquire(&held, NULL, locks, "app-shop", 0));
	char *before = tl_test_read_file(f->path);
	tl_appenv_options o = TL_APPENV_OPTIONS_INIT;
	o.lock_timeout_ms = 200;
	const char *k[] = {"WAITED"};
	const char *v[] = {"x"};
	/* The lock is per process (flock on a new descriptor): a child. */
	pid_t pid = fork();
	if (pid == 0) {
		int rc = tl_appenv_set(f->ctx, "shop", k, v, 1, &o);
		_exit(rc == TL_ELOCKED ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	tl__lock_release(held);
	char *after = tl_test_read_file(f->path);
	assert_string_equal(before, after);
	free(before);
	free(after);
	tl_assert_ok(tl_appenv_set(f->ctx, "shop", k, v, 1, &o));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_rules),
		cmocka_unit_test_setup_teardown(test_set_unset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_production_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_lock, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
