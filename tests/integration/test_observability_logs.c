/*
 * Log rotation on the real dockerd of the harness: an app deployed through
 * the deploy engine (examples/apps/hello) runs with Docker's json-file
 * driver and the TOWLION_LOG_MAX_SIZE / TOWLION_LOG_MAX_FILE limits, as
 * Docker itself reports them (inspect), and Docker rotates its log at
 * that size.
 */
#include "tl_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tl_ctx *ctx;
static char *dir;
static char app[32], host[64], src[600];

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	TL_TEST_REQUIRE("TOWLION_CADDY_ADMIN");
	TL_TEST_REQUIRE("TOWLION_PG_URL");
	dir = tl_test_tmpdir();
	ctx = tl_test_ctx(1);
	snprintf(app, sizeof(app), "tobs%ld", (long)getpid());
	snprintf(host, sizeof(host), "%s.towlion.test", app);
	char p[700];
	const char *subdirs[] = {"state", "apps", "caddy"};
	const char *keys[] = {"TOWLION_STATE_DIR", "TOWLION_APPS_DIR", "TOWLION_CADDY_DIR"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subdirs[i]);
		tl_assert_ok(tl_ctx_config_set(ctx, keys[i], p));
	}
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_UPSTREAM_MODE", "loopback"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_TLS", "off"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_NETWORK", "towlion-test"));
	/* Small, so that the test can make Docker rotate. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_LOG_MAX_SIZE", "64k"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_LOG_MAX_FILE", "2"));
	snprintf(src, sizeof(src), "%s/src", dir);
	tl_test_sh("mkdir -p %s && cp -r %s/examples/apps/hello %s/", src, TL_TEST_SOURCE_DIR, src);
	snprintf(p, sizeof(p), "%s/hello/deploy/.env", src);
	tl_test_write_file(p, "APP_VERSION=1.0.0\n", 0600);
	tl_app_options o = TL_APP_OPTIONS_INIT;
	const char *doms[] = {host, NULL};
	o.domains = doms;
	o.drain_ms = 100;
	tl_assert_ok(tl_app_create(NULL, ctx, app, &o));
	return 0;
}

static int teardown(void **state)
{
	if (!ctx)
		return 0;
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	d.purge = 1;
	tl_app_destroy(ctx, app, &d);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
	return 0;
}

/* The one web container of the app. */
static tl_docker_container *web_container(tl_docker *d)
{
	char f1[96];
	snprintf(f1, sizeof(f1), "towlion.project=%s", app);
	const char *filters[] = {f1, "towlion.role=web", NULL};
	tl_docker_container_list *l = NULL;
	tl_assert_ok(tl_docker_container_list_by_label(&l, d, filters, 0));
	assert_int_equal(tl_docker_container_list_count(l), 1);
	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(
		&c, d, tl_docker_container_name(tl_docker_container_list_at(l, 0))));
	tl_docker_container_list_free(l);
	return c;
}

static void test_app_container_log_rotation(void **state)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/hello", src);
	tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
	o.path = path;
	o.health_timeout_ms = 8000;
	o.requested_by = "test";
	tl_release *r = NULL;
	tl_assert_ok(tl_deploy(&r, ctx, app, &o));
	tl_release_free(r);

	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	tl_docker_container *c = web_container(d);
	tl_buf js = TL_BUF_INIT;
	tl_assert_ok(tl_docker_container_json(&js, c));
	json_t *doc = json_loadb(js.ptr, js.size, 0, NULL);
	json_t *lc = json_object_get(json_object_get(doc, "HostConfig"), "LogConfig");
	assert_string_equal(json_string_value(json_object_get(lc, "Type")), "json-file");
	json_t *cfg = json_object_get(lc, "Config");
	assert_string_equal(json_string_value(json_object_get(cfg, "max-size")), "64k");
	assert_string_equal(json_string_value(json_object_get(cfg, "max-file")), "2");

	/* Docker keeps to it: 600 KiB written to stdout leave at most two
	 * files of about 64 KiB, and the log's tail is still readable. */
	const char *argv[] = {"sh", "-c",
	                      "i=0; while [ $i -lt 600 ]; do "
	                      "printf '%01020d\\n' $i > /proc/1/fd/1; i=$((i+1)); done",
	                      NULL};
	int code = -1;
	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
	tl_assert_ok(tl_docker_exec(&code, &out, &err, d, tl_docker_container_name(c), argv, NULL));
	assert_int_equal(code, 0);
	tl_docker_logs_options lo = TL_DOCKER_LOGS_OPTIONS_INIT;
	tl_buf lout = TL_BUF_INIT, lerr = TL_BUF_INIT;
	tl_assert_ok(tl_docker_container_logs(&lout, &lerr, d, tl_docker_container_name(c), &lo));
	/* What Docker still has: under 2 x 64 KiB plus one line, never 600 KiB. */
	print_message("log kept by Docker after 600 KiB written: %zu bytes\n", lout.size);
	assert_true(lout.size > 0);
	assert_true(lout.size <= 2 * 64 * 1024 + 2048);
	assert_non_null(strstr(lout.ptr, "0599\n"));
	tl_buf_dispose(&lout);
	tl_buf_dispose(&lerr);
	tl_buf_dispose(&out);
	tl_buf_dispose(&err);
	json_decref(doc);
	tl_buf_dispose(&js);
	tl_docker_container_free(c);
	tl_docker_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_container_log_rotation),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
