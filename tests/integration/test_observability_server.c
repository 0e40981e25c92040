/*
 * Observability on the harness's real services:
 * - log rotation on the real dockerd: an app deployed through the deploy
 *   engine (examples/apps/hello) runs with Docker's json-file driver and
 *   the TOWLION_LOG_MAX_SIZE / TOWLION_LOG_MAX_FILE limits, as Docker
 *   itself reports them (inspect), and Docker rotates its log at that size;
 * - the platform's own routes in the real Caddy: storage.<domain> and
 *   grafana.<domain> (taken away when no profile runs Grafana), live in
 *   Caddy's upstreams; an app that holds one of the names is left alone.
 */
#include "tl_test.h"

#include "core/core.h"
#include "platform/platform_int.h"

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
	tl_test_ctx_dirs(ctx, dir, "state apps caddy");
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
	o.health_timeout_ms = 60000; /* a loaded CI machine is slow to start it */
	o.requested_by = "test";
	tl_release *r = NULL;
	tl_assert_ok(tl_deploy(&r, ctx, app, &o));
	tl_release_free(r);

	/* The metrics of an app deployed for real: up, healthy (its route as
	 * Caddy has it and its health path answered), no restarts, an age. */
	tl_buf m = TL_BUF_INIT;
	tl_assert_ok(tl_metrics_render(&m, ctx, NULL));
	const char *series[] = {"towlion_app_up{app=\"%s\"} 1", "towlion_app_healthy{app=\"%s\"} 1",
	                        "towlion_app_restarts_total{app=\"%s\"} 0",
	                        "towlion_app_release_age_seconds{app=\"%s\"} "};
	for (size_t i = 0; i < 4; i++) {
		char want[256];
		snprintf(want, sizeof(want), series[i], app);
		if (!strstr(m.ptr, want))
			fail_msg("no \"%s\" in:\n%s", want, m.ptr);
	}
	tl_buf_dispose(&m);

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
	/* Docker copies a container's output to its log file on its own
	 * schedule: the last line may land a moment after the exec ends (CI:
	 * no "0599" in a log read at once). */
	for (int i = 0; i < 50; i++) {
		tl_buf_dispose(&lout);
		tl_buf_dispose(&lerr);
		tl_assert_ok(tl_docker_container_logs(&lout, &lerr, d, tl_docker_container_name(c),
		                                      &lo));
		if (lout.ptr && strstr(lout.ptr, "0599\n"))
			break;
		usleep(100000);
	}
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

/* The site `site` as listed, or NULL; its first host into `host`. */
static bool site_routes(const char *site, const char *host, const char *upstream)
{
	tl_caddy_sites *l = NULL;
	tl_assert_ok(tl_caddy_list(&l, ctx));
	bool found = false;
	for (size_t i = 0; i < tl_caddy_sites_count(l); i++) {
		const tl_caddy_site *s = tl_caddy_sites_at(l, i);
		if (!strcmp(s->site, site) && s->nhosts == 1 && !strcmp(s->hosts[0], host) &&
		    s->nupstreams == 1 && !strcmp(s->upstreams[0], upstream))
			found = true;
	}
	tl_caddy_sites_free(l);
	return found;
}

static bool caddy_has_upstream(const char *address)
{
	tl_caddy_upstreams *u = NULL;
	tl_assert_ok(tl_caddy_upstreams_get(&u, ctx));
	bool found = false;
	for (size_t i = 0; i < tl_caddy_upstreams_count(u); i++)
		found |= !strcmp(tl_caddy_upstreams_at(u, i)->address, address);
	tl_caddy_upstreams_free(u);
	return found;
}

static const tl_platform_step *step_for(const tl_platform_report *r, const char *subject)
{
	for (size_t i = 0; i < tl_platform_report_count(r); i++)
		if (!strcmp(tl_platform_report_at(r, i)->subject, subject))
			return tl_platform_report_at(r, i);
	return NULL;
}

static void test_platform_routes(void **state)
{
	tl__plat p;
	tl_assert_ok(tl__plat_open(&p, ctx, NULL));
	char dom[64]; /* a copy: config_set below may move the value */
	snprintf(dom, sizeof(dom), "%s", tl_ctx_config_get(ctx, "TOWLION_DOMAIN"));
	char storage[128], grafana[128];
	snprintf(storage, sizeof(storage), "storage.%s", dom);
	snprintf(grafana, sizeof(grafana), "grafana.%s", dom);

	/* Caddy in its container (network mode), the metrics profile running
	 * Grafana: both routes, by service name, live in Caddy. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_UPSTREAM_MODE", "network"));
	tl_platform_report *r = tl__plat_report_new();
	tl_assert_ok(tl__plat_routes(r, ctx, &p, TL__PLAT_PROFILE_METRICS));
	assert_int_equal(tl_platform_report_changed(r), 2);
	tl_platform_report_free(r);
	assert_true(site_routes("storage", storage, "s3:9000"));
	assert_true(site_routes("grafana", grafana, "grafana:3000"));
	assert_true(caddy_has_upstream("s3:9000"));
	assert_true(caddy_has_upstream("grafana:3000"));
	/* Again: nothing changes (up is idempotent). */
	r = tl__plat_report_new();
	tl_assert_ok(tl__plat_routes(r, ctx, &p, TL__PLAT_PROFILE_METRICS));
	assert_int_equal(tl_platform_report_changed(r), 0);
	tl_platform_report_free(r);

	/* Core only: Grafana's route goes, storage stays. */
	r = tl__plat_report_new();
	tl_assert_ok(tl__plat_routes(r, ctx, &p, 0));
	assert_string_equal(step_for(r, grafana)->detail, "removed (no profile runs it)");
	tl_platform_report_free(r);
	assert_false(site_routes("grafana", grafana, "grafana:3000"));
	assert_false(caddy_has_upstream("grafana:3000"));
	assert_true(site_routes("storage", storage, "s3:9000"));

	/* Caddy on the host (loopback): storage through its published port;
	 * Grafana, on the internal network only, publishes none: no route. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_UPSTREAM_MODE", "loopback"));
	r = tl__plat_report_new();
	tl_assert_ok(tl__plat_routes(r, ctx, &p, TL__PLAT_PROFILE_METRICS));
	tl_platform_report_free(r);
	assert_true(site_routes("storage", storage, "127.0.0.1:9000"));
	assert_true(caddy_has_upstream("127.0.0.1:9000"));
	assert_false(site_routes("grafana", grafana, "127.0.0.1:3000"));

	/* An app's site named "grafana" (another host): left alone, said so. */
	tl_caddy_route rt = TL_CADDY_ROUTE_INIT;
	char apphost[128];
	snprintf(apphost, sizeof(apphost), "dash.%s", dom);
	const char *hosts[] = {apphost}, *ups[] = {"127.0.0.1:3999"};
	rt.site = "grafana";
	rt.hosts = hosts;
	rt.nhosts = 1;
	rt.upstreams = ups;
	rt.nupstreams = 1;
	tl_assert_ok(tl_caddy_route_set(ctx, &rt));
	for (unsigned prof = 0; prof <= TL__PLAT_PROFILE_LOGS; prof += TL__PLAT_PROFILE_LOGS) {
		r = tl__plat_report_new();
		tl_assert_ok(tl__plat_routes(r, ctx, &p, prof));
		assert_non_null(strstr(step_for(r, grafana)->detail, "not routed"));
		tl_platform_report_free(r);
		assert_true(site_routes("grafana", apphost, "127.0.0.1:3999"));
	}
	tl_assert_ok(tl_caddy_route_remove(NULL, ctx, "grafana"));
	tl_assert_ok(tl_caddy_route_remove(NULL, ctx, "storage"));
	tl__plat_dispose(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_container_log_rotation),
		cmocka_unit_test(test_platform_routes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
