/*
 * Previews against the real dockerd, PostgreSQL, Redis and Caddy of the
 * harness, with the GitHub stand-in for PR comments: a PR branch from a
 * local git repository comes up at its own host, cannot read production
 * data nor another preview's, updates in place, refuses hostile compose
 * files, and goes away completely.
 */
#include "tl_test.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char *dir;
	tl_ctx *ctx;
	char app[32];
	char repo[600];  /* a git repository with main and PR branches */
	char prod[600];  /* a checkout of main for production */
} fixture;

static fixture *F;

static char *http(const char *method, const char *url, const char *host, const char *body)
{
	return tl_test_http(method, url, host, body, NULL);
}

static char *through_caddy(const char *host)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/", getenv("TOWLION_HTTP_PORT"));
	return http("GET", url, host, NULL);
}

static void assert_body(const char *host, const char *expected)
{
	char *b = through_caddy(host);
	if (!b || !strstr(b, expected))
		fail_msg("%s answered \"%s\", expected \"%s\"", host, b ? b : "(nothing)", expected);
	free(b);
}

static char *preview_host(uint32_t pr)
{
	static char h[128];
	snprintf(h, sizeof(h), "pr-%u.preview.%s.%s", pr, F->app,
	         tl_ctx_config_get(F->ctx, "TOWLION_PREVIEW_DOMAIN"));
	return h;
}

/* The containers with `label` (all states): counted, and removed by hand
 * first when `remove`. */
/* The project's units (containers on one server, services on a swarm)
 * with `label`, removed by hand when `remove`. */
static size_t containers_labelled(const char *label, bool remove)
{
	return tl_test_units_labelled(F->ctx, label, remove);
}

static size_t count_label(const char *label) { return containers_labelled(label, false); }

/* Run psql inside the preview's container with its own DATABASE_URL. */
static int psql_in(const char *project, const char *sql, tl_buf *err)
{
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, F->ctx));
	char f[128];
	snprintf(f, sizeof(f), "towlion.project=%s", project);
	const char *filters[] = {f, "towlion.role=web", NULL};
	tl_docker_container_list *l = NULL;
	tl_assert_ok(tl_docker_container_list_by_label(&l, d, filters, 0));
	assert_int_equal(tl_docker_container_list_count(l), 1);
	const char *name = tl_docker_container_name(tl_docker_container_list_at(l, 0));
	const char *argv[] = {"sh", "-c", "psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -tAc \"$0\"",
	                      sql, NULL};
	int code = -1;
	tl_buf out = TL_BUF_INIT;
	tl_assert_ok(tl_docker_exec(&code, &out, err, d, name, argv, NULL));
	tl_buf_dispose(&out);
	tl_docker_container_list_free(l);
	tl_docker_free(d);
	return code;
}

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	TL_TEST_REQUIRE("TOWLION_PG_URL");
	TL_TEST_REQUIRE("TOWLION_REDIS_URL");
	TL_TEST_REQUIRE("TL_TEST_GITHUB_STANDIN");
	F = calloc(1, sizeof(*F));
	F->dir = tl_test_tmpdir();
	F->ctx = tl_test_ctx(1);
	snprintf(F->app, sizeof(F->app), "tpv%ld", (long)getpid());
	char p[600];
	const char *subdirs[] = {"state", "apps", "caddy"};
	const char *keys[] = {"TOWLION_STATE_DIR", "TOWLION_APPS_DIR", "TOWLION_CADDY_DIR"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", F->dir, subdirs[i]);
		tl_assert_ok(tl_ctx_config_set(F->ctx, keys[i], p));
	}
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_UPSTREAM_MODE", "loopback"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_TLS", "off"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_NETWORK", "towlion-test"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_PREVIEW_DOMAIN", "towlion.test"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_PREVIEW_MAX", "2"));
	/* A repository: main is hello-migrate v1; pr-1 and pr-2 change the
	 * version; pr-3 asks for a privileged container. */
	snprintf(F->repo, sizeof(F->repo), "%s/repo", F->dir);
	tl_test_sh("set -e; mkdir -p %s; cp -r %s/examples/apps/hello-migrate/. %s/; cd %s;"
	   "git init -q -b main .; git -c user.email=t@t -c user.name=t add -A;"
	   "echo APP_VERSION=1.0.0 > deploy/.env; git add -f deploy/.env;"
	   "git -c user.email=t@t -c user.name=t commit -qm v1;"
	   "for n in 1 2; do git checkout -q -b pr-$n main; echo APP_VERSION=pr$n > deploy/.env;"
	   " git -c user.email=t@t -c user.name=t commit -qam pr$n; done;"
	   "git checkout -q -b pr-3 main;"
	   "sed -i 's/^    build:/    privileged: true\\n    build:/' deploy/docker-compose.yml;"
	   "git -c user.email=t@t -c user.name=t commit -qam hostile; git checkout -q main",
	   F->repo, TL_TEST_SOURCE_DIR, F->repo, F->repo);
	tl_app_options o = TL_APP_OPTIONS_INIT;
	char host[96];
	snprintf(host, sizeof(host), "%s.towlion.test", F->app);
	const char *doms[] = {host, NULL};
	o.domains = doms;
	o.drain_ms = 100;
	tl_assert_ok(tl_app_create(NULL, F->ctx, F->app, &o));
	/* Production: database, Redis, deployed from main. */
	tl_pg *pg = NULL;
	tl_assert_ok(tl_pg_connect(&pg, F->ctx));
	tl_assert_ok(tl_pg_app_create(NULL, pg, F->app, NULL));
	tl_pg_free(pg);
	tl_redis *r = NULL;
	tl_assert_ok(tl_redis_connect(&r, F->ctx));
	tl_assert_ok(tl_redis_create(NULL, r, F->app, 0, NULL));
	tl_redis_free(r);
	tl_deploy_options d = TL_DEPLOY_OPTIONS_INIT;
	d.git_url = F->repo;
	d.git_ref = "main";
	d.health_timeout_ms = 10000;
	tl_assert_ok(tl_deploy(NULL, F->ctx, F->app, &d));
	char url[256];
	snprintf(url, sizeof(url), "%s/_standin/reset", getenv("TL_TEST_GITHUB_STANDIN"));
	free(http("POST", url, NULL, "{}"));
	snprintf(url, sizeof(url), "%s/_standin/prs", getenv("TL_TEST_GITHUB_STANDIN"));
	for (int n = 1; n <= 3; n++) {
		char body[200];
		snprintf(body, sizeof(body), "{\"repo\":\"acme/shop\",\"number\":%d,\"state\":\"open\"}",
		         n);
		free(http("POST", url, NULL, body));
	}
	return 0;
}

static int teardown(void **state)
{
	if (!F)
		return 0;
	tl_preview_options po = TL_PREVIEW_OPTIONS_INIT;
	for (uint32_t n = 1; n <= 3; n++)
		tl_preview_down(NULL, F->ctx, F->app, n, &po);
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	d.purge = 1;
	tl_app_destroy(F->ctx, F->app, &d);
	tl_ctx_free(F->ctx);
	tl_test_rmdir(F->dir);
	free(F);
	F = NULL;
	return 0;
}

static tl_preview *up(uint32_t pr, int expect)
{
	tl_preview_options o = TL_PREVIEW_OPTIONS_INIT;
	char ref[32];
	snprintf(ref, sizeof(ref), "pr-%u", pr);
	o.git_url = F->repo;
	o.git_ref = ref;
	o.repo = "acme/shop";
	o.health_timeout_ms = 10000;
	tl_preview *p = NULL;
	tl_assert_rc(expect, tl_preview_up(&p, F->ctx, F->app, pr, &o));
	return p;
}

static void test_preview_up_serves_and_production_untouched(void **state)
{
	char prod_host[96];
	snprintf(prod_host, sizeof(prod_host), "%s.towlion.test", F->app);
	assert_body(prod_host, "hello 1.0.0");
	tl_preview *p = up(1, TL_OK);
	assert_non_null(strstr(tl_preview_url(p), preview_host(1)));
	assert_body(preview_host(1), "hello pr1");
	assert_body(prod_host, "hello 1.0.0");
	/* Its env has its own credentials, never production's. */
	tl_buf env = TL_BUF_INIT, appenv = TL_BUF_INIT;
	tl_assert_ok(tl_preview_env_path(&env, F->ctx, F->app, 1));
	char *text = tl_test_read_file(env.ptr);
	assert_non_null(text);
	char role[64];
	snprintf(role, sizeof(role), "%s_pr_1:", F->app);
	assert_non_null(strstr(text, role));
	assert_null(strstr(text, "postgres:"));
	char rprefix[64];
	snprintf(rprefix, sizeof(rprefix), "REDIS_KEY_PREFIX=%s-pr-1:", F->app);
	assert_non_null(strstr(text, rprefix));
	free(text);
	tl_buf_dispose(&env);
	tl_buf_dispose(&appenv);
	tl_preview_free(p);
}

static void test_preview_cannot_read_production_or_other_previews(void **state)
{
	tl_preview_free(up(1, TL_OK));
	tl_preview_free(up(2, TL_OK));
	char p1[64], p2[64];
	snprintf(p1, sizeof(p1), "%s-pr-1", F->app);
	snprintf(p2, sizeof(p2), "%s-pr-2", F->app);
	tl_buf err = TL_BUF_INIT;
	/* Its own table (made by the release command in pr_1) works. */
	assert_int_equal(psql_in(p1, "SELECT count(*) FROM visits", &err), 0);
	free(err.ptr);
	err = (tl_buf)TL_BUF_INIT;
	assert_int_not_equal(psql_in(p1, "SELECT count(*) FROM public.visits", &err), 0);
	assert_non_null(strstr(err.ptr, "permission denied"));
	free(err.ptr);
	err = (tl_buf)TL_BUF_INIT;
	assert_int_not_equal(psql_in(p2, "SELECT count(*) FROM pr_1.visits", &err), 0);
	assert_non_null(strstr(err.ptr, "permission denied"));
	free(err.ptr);
	err = (tl_buf)TL_BUF_INIT;
	assert_int_not_equal(psql_in(p1, "INSERT INTO public.visits DEFAULT VALUES", &err), 0);
	assert_non_null(strstr(err.ptr, "permission denied"));
	tl_buf_dispose(&err);
	/* The limit of previews per app (2 in this test). */
	tl_preview_free(up(3, TL_ECONFLICT));
	tl_assert_error_contains("TOWLION_PREVIEW_MAX");
}

static void test_second_up_edits_the_comment(void **state)
{
	tl_preview *p = up(1, TL_OK);
	tl_preview_free(p);
	p = up(1, TL_OK); /* a new commit would do the same */
	assert_true(strlen(tl_preview_comment_url(p)) > 0);
	tl_preview_free(p);
	char url[256];
	snprintf(url, sizeof(url), "%s/_standin/requests", getenv("TL_TEST_GITHUB_STANDIN"));
	char *body = http("GET", url, NULL, NULL);
	json_t *reqs = json_loads(body, 0, NULL);
	free(body);
	int posts = 0, patches = 0;
	size_t i;
	json_t *r;
	json_t *arr = json_is_array(reqs) ? reqs : json_object_get(reqs, "requests");
	json_array_foreach(arr, i, r) {
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *path = json_string_value(json_object_get(r, "path"));
		if (!path || !strstr(path, "/comments"))
			continue;
		posts += !strcmp(m, "POST");
		patches += !strcmp(m, "PATCH");
	}
	json_decref(reqs);
	assert_int_equal(posts, 1);
	assert_int_equal(patches, 1);
	/* The comment holds the URL. */
	snprintf(url, sizeof(url), "%s/_standin/state", getenv("TL_TEST_GITHUB_STANDIN"));
	body = http("GET", url, NULL, NULL);
	assert_non_null(strstr(body, preview_host(1)));
	free(body);
}

static void test_hostile_compose_refused_before_anything_runs(void **state)
{
	char label[96];
	snprintf(label, sizeof(label), "towlion.project=%s-pr-3", F->app);
	tl_preview_free(up(3, TL_EINVALID));
	tl_assert_error_contains("privileged");
	assert_int_equal(count_label(label), 0);
	tl_preview_list *l = NULL;
	tl_assert_ok(tl_preview_list_load(&l, F->ctx, F->app));
	assert_int_equal(tl_preview_list_count(l), 0);
	tl_preview_list_free(l);
	char dir[700];
	snprintf(dir, sizeof(dir), "%s/%s-pr-3", tl_ctx_config_get(F->ctx, "TOWLION_APPS_DIR"),
	         F->app);
	struct stat st;
	assert_int_not_equal(stat(dir, &st), 0);
}

static void test_down_removes_everything(void **state)
{
	tl_preview_free(up(1, TL_OK));
	tl_preview_options o = TL_PREVIEW_OPTIONS_INIT;
	int existed = 0;
	tl_assert_ok(tl_preview_down(&existed, F->ctx, F->app, 1, &o));
	assert_true(existed);
	char label[96];
	snprintf(label, sizeof(label), "towlion.project=%s-pr-1", F->app);
	assert_int_equal(count_label(label), 0);
	/* No schema, no role. */
	PGconn *c = PQconnectdb(getenv("TOWLION_PG_URL"));
	char sql[300];
	snprintf(sql, sizeof(sql), "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = '%s_pr_1')",
	         F->app);
	PGresult *r = PQexec(c, sql);
	assert_string_equal(PQgetvalue(r, 0, 0), "0");
	PQclear(r);
	PQfinish(c);
	/* No site file, no checkout, no state. */
	char path[800];
	struct stat st;
	snprintf(path, sizeof(path), "%s/sites/%s-pr-1.caddy",
	         tl_ctx_config_get(F->ctx, "TOWLION_CADDY_DIR"), F->app);
	assert_int_not_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/%s-pr-1", tl_ctx_config_get(F->ctx, "TOWLION_APPS_DIR"),
	         F->app);
	assert_int_not_equal(stat(path, &st), 0);
	tl_preview_list *l = NULL;
	tl_assert_ok(tl_preview_list_load(&l, F->ctx, F->app));
	assert_int_equal(tl_preview_list_count(l), 0);
	tl_preview_list_free(l);
	/* The host no longer routes; production still serves. */
	char *b = through_caddy(preview_host(1));
	assert_non_null(b);
	assert_null(strstr(b, "hello"));
	free(b);
	char prod_host[96];
	snprintf(prod_host, sizeof(prod_host), "%s.towlion.test", F->app);
	assert_body(prod_host, "hello 1.0.0");
	/* Down again: fine, and says there was nothing. */
	tl_assert_ok(tl_preview_down(&existed, F->ctx, F->app, 1, &o));
	assert_false(existed);
}

/* Preview PR's health as the listing says it (-2: not listed). */
static int listed_health(uint32_t pr)
{
	tl_preview_list *l = NULL;
	tl_assert_ok(tl_preview_list_load(&l, F->ctx, F->app));
	int h = -2;
	for (size_t i = 0; i < tl_preview_list_count(l); i++)
		if (tl_preview_pr(tl_preview_list_at(l, i)) == pr)
			h = tl_preview_healthy(tl_preview_list_at(l, i));
	tl_preview_list_free(l);
	return h;
}

/* A preview's health is what tl_app_status_get would say of an app: its
 * containers as they are and its route as Caddy has it, not Docker's list
 * alone. */
static void test_health_from_reality(void **state)
{
	tl_preview_free(up(2, TL_OK));
	assert_int_equal(listed_health(2), 1);
	/* the route gone from Caddy: containers run, nobody reaches them */
	char project[64];
	snprintf(project, sizeof(project), "%s-pr-2", F->app);
	tl_assert_ok(tl_caddy_route_remove(NULL, F->ctx, project));
	assert_int_equal(listed_health(2), 0);
	/* up again, then its container (on a swarm: its service) removed by
	 * hand; a removed service's task stops within its stop grace, and it
	 * serves until then, which status says */
	tl_preview_free(up(2, TL_OK));
	assert_int_equal(listed_health(2), 1);
	char label[128];
	snprintf(label, sizeof(label), "towlion.project=%s", project);
	assert_true(containers_labelled(label, true) > 0);
	int h = listed_health(2);
	for (int i = 0; h != 0 && tl_test_swarm() && i < 120; i++) {
		usleep(250000);
		h = listed_health(2);
	}
	assert_int_equal(h, 0);
	/* the production app next to it keeps its own truth */
	tl_app_status *st = NULL;
	tl_assert_ok(tl_app_status_get(&st, F->ctx, F->app));
	assert_int_equal(tl_app_status_healthy(st), 1);
	tl_app_status_free(st);
	tl_preview_options o = TL_PREVIEW_OPTIONS_INIT;
	tl_assert_ok(tl_preview_down(NULL, F->ctx, F->app, 2, &o));
}

static void test_gc_removes_closed_prs(void **state)
{
	tl_preview_free(up(2, TL_OK));
	char url[256];
	snprintf(url, sizeof(url), "%s/_standin/prs", getenv("TL_TEST_GITHUB_STANDIN"));
	free(http("POST", url, NULL, "{\"repo\":\"acme/shop\",\"number\":2,\"state\":\"merged\"}"));
	tl_buf removed = TL_BUF_INIT;
	tl_preview_gc_options g = TL_PREVIEW_GC_OPTIONS_INIT;
	g.dry_run = 1;
	tl_assert_ok(tl_preview_gc(&removed, F->ctx, &g));
	assert_non_null(strstr(removed.ptr, "-pr-2"));
	char label[96];
	snprintf(label, sizeof(label), "towlion.project=%s-pr-2", F->app);
	assert_int_equal(count_label(label), 1); /* dry run changed nothing */
	g.dry_run = 0;
	tl_assert_ok(tl_preview_gc(&removed, F->ctx, &g));
	assert_int_equal(count_label(label), 0);
	tl_buf_dispose(&removed);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_preview_up_serves_and_production_untouched,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_preview_cannot_read_production_or_other_previews,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_up_edits_the_comment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_compose_refused_before_anything_runs,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_removes_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_from_reality, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_removes_closed_prs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
