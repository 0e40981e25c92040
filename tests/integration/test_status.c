/*
 * tl_status(): the platform at a glance against the harness's PostgreSQL
 * (and Docker, Caddy for the apps' own status). Two apps side by side,
 * one named so that a careless join would confuse them: each row carries
 * its own database and its own backups only; one app is asked alone;
 * a PostgreSQL that does not answer is said as such, never as "no
 * database". Deployed apps' rows are checked by tests/cli (status --json).
 */
#include "tl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmp;
static tl_ctx *ctx;
static char app_a[32], app_b[40]; /* "st<pid>" and "st<pid>-b" */

static void drop_db(const char *app)
{
	tl_pg *pg = NULL;
	if (tl_pg_connect(&pg, ctx) != TL_OK)
		return;
	tl_pg_options o = TL_PG_OPTIONS_INIT;
	o.flags = TL_PG_CONFIRM;
	tl_pg_app_drop(NULL, pg, app, &o);
	tl_pg_free(pg);
}

static int setup(void **state)
{
	(void)state;
	if (!TL_TEST_REQUIRE("TOWLION_PG_URL") || !TL_TEST_REQUIRE("TOWLION_DOCKER_HOST"))
		return -1;
	tmp = tl_test_tmpdir();
	ctx = tl_test_ctx(1);
	tl_test_ctx_dirs(ctx, tmp, "state apps backups caddy");
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", ""));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", ""));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOMAIN", "towlion.test"));
	snprintf(app_a, sizeof(app_a), "st%d", (int)getpid());
	snprintf(app_b, sizeof(app_b), "%s-b", app_a);
	tl_pg *pg = NULL;
	tl_assert_ok(tl_pg_connect(&pg, ctx));
	const char *apps[] = {app_a, app_b};
	for (size_t i = 0; i < 2; i++) {
		tl_assert_ok(tl_app_create(NULL, ctx, apps[i], NULL));
		tl_assert_ok(tl_pg_app_create(NULL, pg, apps[i], NULL));
	}
	tl_pg_free(pg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (!ctx)
		return 0;
	drop_db(app_a);
	drop_db(app_b);
	tl_ctx_free(ctx);
	tl_test_rmdir(tmp);
	ctx = NULL;
	return 0;
}

/* The row of `app` in the report, and its index (fails when absent). */
static const tl_status_app *row_of(const tl_status_report *r, const char *app, size_t *index)
{
	for (size_t i = 0; i < tl_status_app_count(r); i++)
		if (!strcmp(tl_status_app_at(r, i)->app, app)) {
			if (index)
				*index = i;
			return tl_status_app_at(r, i);
		}
	fail_msg("status has no row for %s", app);
	return NULL;
}

static const tl_status_source *source_of(const tl_status_report *r, const char *name)
{
	for (size_t i = 0; i < tl_status_source_count(r); i++)
		if (!strcmp(tl_status_source_at(r, i)->name, name))
			return tl_status_source_at(r, i);
	fail_msg("status has no source %s", name);
	return NULL;
}

static void test_each_row_has_its_own_database_and_backups(void **state)
{
	(void)state;
	/* A backup of A's database only. */
	char db_a[64];
	snprintf(db_a, sizeof(db_a), "%s_db", app_a);
	const char *dbs[] = {db_a};
	tl_backup_options bo = TL_BACKUP_OPTIONS_INIT;
	bo.databases = dbs;
	bo.ndatabases = 1;
	bo.pg_bin_dir = getenv("TL_TEST_PG_BIN");
	tl_backup_report *br = NULL;
	tl_assert_ok(tl_backup_run(&br, ctx, &bo));
	char *file = strdup(tl_backup_report_at(br, 0)->file);
	tl_backup_report_free(br);

	tl_status_report *r = NULL;
	tl_assert_ok(tl_status(&r, ctx, NULL));
	assert_int_equal(tl_status_app_count(r), 2);
	size_t ia = 0, ib = 0;
	const tl_status_app *a = row_of(r, app_a, &ia), *b = row_of(r, app_b, &ib);
	assert_string_equal(a->database, db_a);
	assert_true(a->database_bytes > 0);
	assert_string_equal(a->backup_file, file);
	assert_true(a->backup_created > 0 && a->backup_bytes > 0);
	/* B's name starts with A's: its row is its own database, and A's
	 * backup is not B's. */
	char db_b[64];
	snprintf(db_b, sizeof(db_b), "%s_b_db", app_a);
	assert_string_equal(b->database, db_b);
	assert_string_equal(b->backup_file, "");
	assert_int_equal(b->backup_created, 0);
	assert_int_equal(a->previews, 0);
	assert_int_equal(b->previews, 0);
	/* Never deployed: the apps' own status says so, and so does the verdict. */
	assert_string_equal(tl_app_status_release(tl_status_app_state(r, ia)), "");
	assert_int_equal(tl_app_status_health(tl_status_app_state(r, ib)), TL_APP_HEALTH_NONE);
	assert_int_equal(tl_status_health(r), TL_APP_HEALTH_NONE);
	assert_string_equal(tl_status_reason(r), "");
	/* Every source answered. */
	assert_int_equal(tl_status_source_count(r), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(tl_status_source_at(r, i)->answered, 1);
		assert_string_equal(tl_status_source_at(r, i)->error, "");
	}
	assert_null(tl_status_app_at(r, 2));
	assert_null(tl_status_app_state(r, 2));
	assert_null(tl_status_source_at(r, 3));
	tl_status_free(r);
	free(file);
}

static void test_one_app_and_bad_input(void **state)
{
	(void)state;
	tl_status_options o;
	tl_assert_ok(tl_status_options_init(&o, TL_STATUS_OPTIONS_VERSION));
	/* One app's report reads only its own database, backups and previews
	 * (B's name starts with A's): each row as the whole report has it. */
	tl_status_report *all = NULL, *r = NULL;
	tl_assert_ok(tl_status(&all, ctx, NULL));
	const char *apps[] = {app_a, app_b};
	for (size_t i = 0; i < 2; i++) {
		o.app = apps[i];
		tl_assert_ok(tl_status(&r, ctx, &o));
		assert_int_equal(tl_status_app_count(r), 1);
		const tl_status_app *one = tl_status_app_at(r, 0), *row = row_of(all, apps[i], NULL);
		assert_string_equal(one->app, apps[i]);
		assert_string_equal(one->database, row->database);
		assert_true(one->database_bytes > 0);
		assert_string_equal(one->backup_file, row->backup_file);
		assert_int_equal(one->backup_bytes, row->backup_bytes);
		assert_int_equal(one->previews, row->previews);
		for (size_t k = 0; k < tl_status_source_count(r); k++)
			assert_int_equal(tl_status_source_at(r, k)->answered, 1);
		tl_status_free(r);
	}
	tl_status_free(all);

	/* Not registered, not a name, a bad version: an error, out untouched. */
	r = NULL;
	o.app = "nosuchapp";
	tl_assert_rc(TL_ENOTFOUND, tl_status(&r, ctx, &o));
	tl_assert_error_contains("nosuchapp");
	o.app = "../etc";
	tl_assert_rc(TL_EINVALID, tl_status(&r, ctx, &o));
	o.app = NULL;
	o.version = 0;
	tl_assert_rc(TL_EINVALID, tl_status(&r, ctx, &o));
	tl_assert_rc(TL_EINVALID, tl_status(NULL, ctx, NULL));
	tl_assert_rc(TL_EINVALID, tl_status_options_init(&o, 0));
	assert_null(r);
	tl_status_free(NULL);
}

static void test_silent_postgres_is_not_no_database(void **state)
{
	(void)state;
	char *url = strdup(tl_ctx_config_get(ctx, "TOWLION_PG_URL"));
	/* Port 1 on loopback: nothing listens there. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL",
	                               "postgresql://postgres@127.0.0.1:1/postgres"));
	tl_status_report *r = NULL;
	int rc = tl_status(&r, ctx, NULL);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL", url));
	free(url);
	tl_assert_ok(rc);
	const tl_status_source *pg = source_of(r, "postgres");
	assert_int_equal(pg->answered, 0);
	assert_true(pg->error[0] != '\0');
	assert_int_equal(source_of(r, "backups")->answered, 1);
	const tl_status_app *a = row_of(r, app_a, NULL);
	assert_string_equal(a->database, "");
	assert_true(a->database_bytes == -1);
	/* The error of the silent source does not leak out of a success. */
	assert_int_equal(tl_error_last()->code, TL_OK);
	tl_status_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_row_has_its_own_database_and_backups),
		cmocka_unit_test(test_one_app_and_bad_input),
		cmocka_unit_test(test_silent_postgres_is_not_no_database),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
