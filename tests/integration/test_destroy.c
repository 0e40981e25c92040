/*
 * app destroy against the harness's dockerd, Caddy, PostgreSQL, Redis and
 * S3: a destroy that needs a service which is down refuses before it
 * changes anything; a destroy killed (SIGKILL) at each of its steps is
 * finished by a rerun, or by another command's repair (without --purge:
 * its data kept); and after destroy --purge nothing of the app is
 * left: files, locks, containers, images, network, database and role,
 * Redis user, bucket, route. Also: tenancy for a name that is no app.
 */
#include "tl_test.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	char *dir; /* temp dir: state, apps, caddy, a copy of examples/apps */
	tl_ctx *ctx;
	char app[32];
	char host[64];
	char src[512];
	int s3;    /* the harness has object storage */
} fixture;

static fixture *F;

/* ---- helpers ------------------------------------------------------------ */

static void path_of(char *out, size_t n, const char *rel)
{
	int k = snprintf(out, n, "%s/state/%s", F->dir, rel);
	assert_true(k > 0 && (size_t)k < n);
}

static bool exists(const char *rel)
{
	char p[2100];
	path_of(p, sizeof(p), rel);
	struct stat st;
	return lstat(p, &st) == 0;
}

static void deploy_hello(void)
{
	char dir[700], env[800];
	snprintf(dir, sizeof(dir), "%s/hello", F->src);
	snprintf(env, sizeof(env), "%s/deploy/.env", dir);
	tl_test_write_file(env, "APP_VERSION=1.0.0\n", 0600);
	tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
	o.path = dir;
	o.health_timeout_ms = 8000;
	o.requested_by = "test";
	tl_release *r = NULL;
	tl_assert_ok(tl_deploy(&r, F->ctx, F->app, &o));
	tl_release_free(r);
}

/* The app's database, Redis user and (with S3) bucket and keys. */
static void provision(void)
{
	tl_pg *pg = NULL;
	tl_pg_options po = TL_PG_OPTIONS_INIT;
	po.flags = TL_PG_REGISTERED_ONLY;
	tl_assert_ok(tl_pg_connect(&pg, F->ctx));
	tl_assert_ok(tl_pg_app_create(NULL, pg, F->app, &po));
	tl_pg_free(pg);
	tl_redis *r = NULL;
	tl_redis_options ro = TL_REDIS_OPTIONS_INIT;
	ro.flags = TL_REDIS_REGISTERED_ONLY;
	tl_assert_ok(tl_redis_connect(&r, F->ctx));
	tl_assert_ok(tl_redis_create(NULL, r, F->app, 0, &ro));
	tl_redis_free(r);
	if (F->s3) {
		/* The bucket (the harness's storage has no per-app users: admin API none). */
		tl_s3 *s3 = NULL;
		tl_buf b = TL_BUF_INIT;
		tl_assert_ok(tl_s3_new(&s3, F->ctx, NULL));
		tl_assert_ok(tl_s3_app_bucket(&b, F->app));
		tl_assert_ok(tl_s3_bucket_create(s3, b.ptr));
		tl_buf_dispose(&b);
		tl_s3_free(s3);
	}
}

static size_t count_by_label(bool images)
{
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, F->ctx));
	char f[128];
	snprintf(f, sizeof(f), "towlion.project=%s", F->app);
	const char *filters[] = {f, NULL};
	size_t n;
	if (images) {
		tl_docker_image_list *l = NULL;
		tl_assert_ok(tl_docker_image_list_by_label(&l, d, filters));
		n = tl_docker_image_list_count(l);
		tl_docker_image_list_free(l);
	} else {
		tl_docker_container_list *l = NULL;
		tl_assert_ok(tl_docker_container_list_by_label(&l, d, filters, 1));
		n = tl_docker_container_list_count(l);
		tl_docker_container_list_free(l);
	}
	tl_docker_free(d);
	return n;
}

static bool has_route(void)
{
	tl_caddy_sites *sites = NULL;
	tl_assert_ok(tl_caddy_list(&sites, F->ctx));
	bool found = false;
	for (size_t i = 0; i < tl_caddy_sites_count(sites); i++)
		found |= !strcmp(tl_caddy_sites_at(sites, i)->site, F->app);
	tl_caddy_sites_free(sites);
	return found;
}

static bool serves(void)
{
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/", getenv("TOWLION_HTTP_PORT"));
	long status = 0;
	for (int i = 0; i < 20; i++) {
		char *body = tl_test_http("GET", url, F->host, NULL, &status);
		bool ok = body && status == 200 && strstr(body, "hello");
		free(body);
		if (ok)
			return true;
		usleep(100000);
	}
	return false;
}

static bool has_database(void)
{
	tl_pg *pg = NULL;
	tl_assert_ok(tl_pg_connect(&pg, F->ctx));
	tl_pg_db_list *l = NULL;
	tl_assert_ok(tl_pg_list(&l, pg));
	tl_buf db = TL_BUF_INIT, role = TL_BUF_INIT;
	tl_assert_ok(tl_pg_app_names(&db, &role, F->app));
	bool found = false;
	for (size_t i = 0; i < tl_pg_db_list_count(l); i++)
		found |= !strcmp(tl_pg_db_list_at(l, i)->database, db.ptr);
	tl_buf_dispose(&db);
	tl_buf_dispose(&role);
	tl_pg_db_list_free(l);
	tl_pg_free(pg);
	return found;
}

static bool has_redis_user(void)
{
	tl_redis *r = NULL;
	tl_assert_ok(tl_redis_connect(&r, F->ctx));
	tl_redis_stats *s = NULL;
	tl_assert_ok(tl_redis_stats_get(&s, r, F->app, 0));
	bool found = tl_redis_stats_user_exists(s);
	tl_redis_stats_free(s);
	tl_redis_free(r);
	return found;
}

static bool has_bucket(void)
{
	if (!F->s3)
		return false;
	tl_s3 *s3 = NULL;
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl_s3_new(&s3, F->ctx, NULL));
	tl_assert_ok(tl_s3_app_bucket(&b, F->app));
	int rc = tl_s3_bucket_exists(s3, b.ptr);
	if (rc != TL_OK && rc != TL_ENOTFOUND)
		fail_msg("bucket %s: %s", b.ptr, tl_error_last()->message);
	tl_buf_dispose(&b);
	tl_s3_free(s3);
	return rc == TL_OK;
}

/* The app's own network, <TOWLION_NETWORK>-app-<app>. Docker has no
 * "exists" call in the API: removing it answers (and a left one is a
 * failure anyway). */
static bool has_network(void)
{
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, F->ctx));
	char name[128];
	snprintf(name, sizeof(name), "towlion-strict-app-%s", F->app);
	int rc = tl_docker_network_remove(d, name);
	tl_docker_free(d);
	if (rc != TL_OK && rc != TL_ENOTFOUND)
		fail_msg("network %s: %s", name, tl_error_last()->message);
	return rc == TL_OK;
}

/* Everything of the app is gone, and nothing of it is left behind. */
static void assert_nothing_left(void)
{
	char p[128];
	snprintf(p, sizeof(p), "apps/%s", F->app);
	if (exists(p))
		fail_msg("state/%s is left", p);
	snprintf(p, sizeof(p), "locks/app-%s.lock", F->app);
	if (exists(p))
		fail_msg("state/%s is left", p);
	tl_app *a = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_app_open(&a, F->ctx, F->app));
	assert_false(has_route());
	assert_int_equal(count_by_label(false), 0);
	assert_int_equal(count_by_label(true), 0);
	assert_false(has_network());
	assert_false(has_database());
	assert_false(has_redis_user());
	assert_false(has_bucket());
}

static void assert_all_there(void)
{
	tl_app *a = NULL;
	tl_assert_ok(tl_app_open(&a, F->ctx, F->app));
	tl_app_free(a);
	assert_true(has_route());
	assert_true(serves());
	assert_true(count_by_label(false) > 0);
	assert_true(count_by_label(true) > 0);
	assert_true(has_database());
	assert_true(has_redis_user());
	if (F->s3)
		assert_true(has_bucket());
}

static int destroy(int purge)
{
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	d.purge = purge;
	return tl_app_destroy(F->ctx, F->app, &d);
}

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	TL_TEST_REQUIRE("TOWLION_CADDY_ADMIN");
	TL_TEST_REQUIRE("TOWLION_PG_URL");
	TL_TEST_REQUIRE("TOWLION_REDIS_URL");
	static int n;
	F = calloc(1, sizeof(*F));
	F->dir = tl_test_tmpdir();
	F->ctx = tl_test_ctx(1);
	F->s3 = getenv("TOWLION_S3_ENDPOINT") && *getenv("TOWLION_S3_ENDPOINT");
	snprintf(F->app, sizeof(F->app), "tdst%ld-%d", (long)getpid(), ++n);
	snprintf(F->host, sizeof(F->host), "%s.towlion.test", F->app);
	char p[600];
	const char *subdirs[] = {"state", "apps", "caddy"};
	const char *keys[] = {"TOWLION_STATE_DIR", "TOWLION_APPS_DIR", "TOWLION_CADDY_DIR"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", F->dir, subdirs[i]);
		tl_assert_ok(tl_ctx_config_set(F->ctx, keys[i], p));
	}
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_UPSTREAM_MODE", "loopback"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_TLS", "off"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_NETWORK", "towlion-strict"));
	snprintf(F->src, sizeof(F->src), "%s/src", F->dir);
	tl_test_sh("mkdir -p %s && cp -r %s/examples/apps/. %s/", F->src, TL_TEST_SOURCE_DIR,
	           F->src);
	tl_app_options o = TL_APP_OPTIONS_INIT;
	const char *doms[] = {F->host, NULL};
	o.domains = doms;
	o.drain_ms = 0;
	tl_assert_ok(tl_app_create(NULL, F->ctx, F->app, &o));
	return 0;
}

static int teardown(void **state)
{
	if (!F)
		return 0;
	/* Config back to the harness's, then whatever a failed test left. */
	tl_ctx_config_set(F->ctx, "TOWLION_PG_URL", getenv("TOWLION_PG_URL"));
	destroy(1);
	tl_ctx_free(F->ctx);
	tl_test_rmdir(F->dir);
	free(F);
	F = NULL;
	return 0;
}

/* ---- tests -------------------------------------------------------------- */

/* PostgreSQL down (the admin URL points at a closed port): destroy --purge
 * refuses, naming it, and the app keeps serving with everything it had. */
static void test_purge_refused_while_postgres_down(void **state)
{
	deploy_hello();
	provision();
	assert_all_there();
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_PG_URL",
	                               "postgresql://postgres@127.0.0.1:1/postgres"));
	tl_assert_rc(TL_EUNAVAILABLE, destroy(1));
	tl_assert_error_contains("PostgreSQL");
	tl_assert_error_contains("nothing was changed");
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_PG_URL", getenv("TOWLION_PG_URL")));
	assert_all_there();
	char lock[128];
	snprintf(lock, sizeof(lock), "apps/%s/app.env", F->app);
	assert_true(exists(lock));
	/* Caddy down (its admin API unreachable): a plain destroy refuses too. */
	const char *admin = getenv("TOWLION_CADDY_ADMIN");
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_CADDY_ADMIN", "http://127.0.0.1:1"));
	tl_assert_rc(TL_EUNAVAILABLE, destroy(0));
	tl_assert_error_contains("Caddy");
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_CADDY_ADMIN", admin));
	assert_all_there();
	/* Up again, the same destroy removes it all. */
	tl_assert_ok(destroy(1));
	assert_nothing_left();
}

/* destroy --purge of an app that has everything removes everything. */
static void test_purge_leaves_nothing(void **state)
{
	deploy_hello();
	provision();
	assert_all_there();
	tl_assert_ok(destroy(1));
	assert_nothing_left();
	/* A second run finds nothing and says so. */
	tl_assert_rc(TL_ENOTFOUND, destroy(1));
}

static const char *kill_at;

static int kill_at_step(const tl_event *ev, void *payload)
{
	if (ev->type == TL_EVENT_STEP && ev->step && !strcmp(ev->step, kill_at))
		raise(SIGKILL);
	return 0;
}

/* A destroy (with or without --purge) killed (SIGKILL) exactly at `step`,
 * in a child process sharing the fixture. */
static void kill_destroy_at(const char *step, int purge)
{
	kill_at = step;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		tl_ctx_set_event_cb(F->ctx, kill_at_step, NULL);
		destroy(purge);
		_exit(0); /* the step never came: the parent fails */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the destroy was not killed at %s (status %d)", step, status);
}

/* A destroy killed at each step; the rerun finishes the job. */
static void test_killed_at_each_step_then_rerun(void **state)
{
	static const char *const steps[] = {
		"destroy.route",   "destroy.containers", "destroy.network",
		"destroy.s3-user", "destroy.database",   "destroy.redis",
		"destroy.bucket",  "destroy.files",      "destroy.registry",
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const char *admin = getenv("TOWLION_S3_ADMIN_API");
		if (strstr(steps[i], "s3-user") && !(F->s3 && admin && !strcmp(admin, "iam")))
			continue; /* no per-app object storage users here */
		if (!F->s3 && strstr(steps[i], "bucket"))
			continue;
		if (i > 0) {
			teardown(state);
			setup(state);
		}
		deploy_hello();
		provision();
		kill_destroy_at(steps[i], 1);
		/* Still registered (the registry goes last): a rerun finishes. */
		tl_app *a = NULL;
		tl_assert_ok(tl_app_open(&a, F->ctx, F->app));
		tl_app_free(a);
		if (tl_app_destroy(F->ctx, F->app,
		                   &(tl_destroy_options){TL_DESTROY_OPTIONS_VERSION, 1, 1, 0}))
			fail_msg("rerun after a kill at %s: %s", steps[i], tl_error_last()->message);
		assert_nothing_left();
	}
}

static int settled_steps;
static char settled_what[512];

static int count_settle(const tl_event *ev, void *payload)
{
	if (ev->type == TL_EVENT_STEP && ev->step && !strcmp(ev->step, "deploy.settle") &&
	    strstr(ev->message, "finished an interrupted destroy of")) {
		settled_steps++;
		snprintf(settled_what, sizeof(settled_what), "%s", ev->message);
	}
	return 0;
}

/* A destroy without --purge killed at each of its steps is finished by
 * another command's repair (tl_deploy_repair, which every CLI command
 * runs first), which says so, and keeps the app's data: database, Redis
 * user, bucket. A destroy --purge asked next in the same context drops
 * that data too (the finished one did not). */
static void test_killed_without_purge_finished_by_repair_keeps_data(void **state)
{
	static const char *const steps[] = {
		"destroy.route", "destroy.containers", "destroy.network",
		"destroy.files", "destroy.registry",
	};
	static const char *const killed_while[] = {
		"killed while removing its route, containers, images and network",
		"killed while removing its route, containers, images and network",
		"killed while removing its route, containers, images and network",
		"killed while removing its state files",
		"killed while removing its registry entry",
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (i > 0) {
			teardown(state);
			setup(state);
		}
		deploy_hello();
		provision();
		kill_destroy_at(steps[i], 0);
		char rec[128];
		snprintf(rec, sizeof(rec), "ops/%s.json", F->app);
		assert_true(exists(rec));
		settled_steps = 0;
		tl_ctx_set_event_cb(F->ctx, count_settle, NULL);
		tl_buf done = TL_BUF_INIT;
		if (tl_deploy_repair(&done, F->ctx))
			fail_msg("repair after a kill at %s: %s", steps[i], tl_error_last()->message);
		tl_ctx_set_event_cb(F->ctx, NULL, NULL);
		char said[128];
		snprintf(said, sizeof(said), "finished an interrupted destroy of %s", F->app);
		if (!done.ptr || !strstr(done.ptr, said))
			fail_msg("the repair after a kill at %s did not say it finished the destroy: %s",
			         steps[i], done.ptr ? done.ptr : "(nothing)");
		tl_buf_dispose(&done);
		assert_int_equal(settled_steps, 1);
		/* and where it had stopped: the item it was removing */
		if (!strstr(settled_what, killed_while[i]))
			fail_msg("the repair after a kill at %s does not say %s: %s", steps[i],
			         killed_while[i], settled_what);
		/* gone as a destroy leaves an app, its data kept */
		char p[128];
		snprintf(p, sizeof(p), "apps/%s", F->app);
		assert_false(exists(p));
		assert_false(exists(rec));
		snprintf(p, sizeof(p), "locks/app-%s.lock", F->app);
		assert_false(exists(p));
		tl_app *a = NULL;
		tl_assert_rc(TL_ENOTFOUND, tl_app_open(&a, F->ctx, F->app));
		assert_false(has_route());
		assert_int_equal(count_by_label(false), 0);
		assert_false(has_network());
		if (!has_database() || !has_redis_user() || (F->s3 && !has_bucket()))
			fail_msg("a destroy without --purge killed at %s, finished by the repair, "
			         "dropped data (database %d, Redis user %d, bucket %d)",
			         steps[i], has_database(), has_redis_user(), has_bucket());
		/* a plain destroy asked next: nothing left to do */
		tl_assert_ok(destroy(0));
		assert_true(has_database());
		/* --purge asked next: the data goes too */
		tl_assert_ok(destroy(1));
		assert_nothing_left();
	}
}

/* A destroy --purge killed before its data went, whose repair cannot
 * finish it (PostgreSQL down): a destroy asked then without --purge still
 * purges (a destroy is never undone, and the data was asked to go), so it
 * refuses while PostgreSQL is down, changing nothing, and once it is back
 * removes everything. */
static void test_plain_destroy_finishes_a_killed_purge(void **state)
{
	deploy_hello();
	provision();
	kill_destroy_at("destroy.database", 1);
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_PG_URL",
	                               "postgresql://postgres@127.0.0.1:1/postgres"));
	tl_buf done = TL_BUF_INIT;
	tl_assert_rc(TL_EUNAVAILABLE, tl_deploy_repair(&done, F->ctx));
	tl_assert_error_contains("PostgreSQL");
	tl_buf_dispose(&done);
	tl_assert_rc(TL_EUNAVAILABLE, destroy(0));
	tl_assert_error_contains("PostgreSQL");
	char rec[128];
	snprintf(rec, sizeof(rec), "ops/%s.json", F->app);
	assert_true(exists(rec));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_PG_URL", getenv("TOWLION_PG_URL")));
	assert_true(has_database());
	tl_assert_ok(destroy(0));
	assert_false(exists(rec));
	assert_nothing_left();
}

/* Killed after the registry entry went: only the lock file is left, and
 * a rerun removes it. By hand: the lock file of an unregistered app. */
static void test_rerun_after_unregister_removes_lock(void **state)
{
	char locks[1024], file[1100];
	path_of(locks, sizeof(locks), "locks");
	tl_test_sh("mkdir -p %s", locks);
	snprintf(file, sizeof(file), "%s/app-%s.lock", locks, F->app);
	tl_test_write_file(file, "", 0600);
	tl_assert_ok(tl_app_unregister(F->ctx, F->app));
	tl_assert_ok(destroy(0));
	assert_nothing_left();
	tl_assert_rc(TL_ENOTFOUND, destroy(0));
}

/* Tenancy for a name that is no app is refused unless standalone, and
 * refused before anything is made (no state directory either). */
static void test_create_for_unregistered_name_refused(void **state)
{
	const char *ghost = "ghost-strict";
	char dir[128];
	snprintf(dir, sizeof(dir), "apps/%s", ghost);
	tl_pg *pg = NULL;
	tl_pg_options po = TL_PG_OPTIONS_INIT;
	po.flags = TL_PG_REGISTERED_ONLY;
	tl_assert_ok(tl_pg_connect(&pg, F->ctx));
	tl_assert_rc(TL_ENOTFOUND, tl_pg_app_create(NULL, pg, ghost, &po));
	tl_assert_error_contains("no registered app");
	tl_assert_error_contains("--standalone");
	tl_pg_free(pg);
	tl_redis *r = NULL;
	tl_redis_options ro = TL_REDIS_OPTIONS_INIT;
	ro.flags = TL_REDIS_REGISTERED_ONLY;
	tl_assert_ok(tl_redis_connect(&r, F->ctx));
	tl_assert_rc(TL_ENOTFOUND, tl_redis_create(NULL, r, ghost, 0, &ro));
	tl_redis_free(r);
	if (F->s3) {
		tl_s3 *s3 = NULL;
		tl_assert_ok(tl_s3_new(&s3, F->ctx, NULL));
		tl_assert_rc(TL_ENOTFOUND,
		             tl_s3_app_create(NULL, NULL, s3, ghost, TL_S3_REGISTERED_ONLY));
		tl_s3_free(s3);
	}
	assert_false(exists(dir));
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_for_unregistered_name_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_rerun_after_unregister_removes_lock, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_purge_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_refused_while_postgres_down, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_killed_at_each_step_then_rerun, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_killed_without_purge_finished_by_repair_keeps_data,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_destroy_finishes_a_killed_purge, setup,
		                                teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
