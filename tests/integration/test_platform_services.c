/*
 * The platform against the harness's dockerd and PostgreSQL: init makes
 * the network; up/down run every platform service as a container (from a
 * small local stand-in image, since there is no registry: the test proves
 * the lifecycle, labels, health checks, restart policy, binds and secrets
 * in the environment, not that postgres runs); metrics show an app's
 * containers and pass promtool; the doctor runs all twelve checks.
 */
#include "tl_test.h"

#include "core/core.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STANDIN_IMAGE "towlion-test/platform-standin:latest"

static char net[64];

static tl_ctx *harness_ctx(const char *root)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	TL_TEST_REQUIRE("TOWLION_PG_URL");
	tl_ctx *ctx = tl_test_ctx(1);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_NETWORK", net));
	if (root) {
		/* A private registry and state: the harness's are shared. */
		char p[512];
		snprintf(p, sizeof(p), "%s/state", root);
		tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", p));
	}
	return ctx;
}

static void write_file(const char *dir, const char *name, const char *text, int mode)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	tl_test_write_file(p, text, mode);
}

/* The stand-in: answers HTTP on every port a health check asks, and
 * provides pg_isready, redis-cli and mc that check it (redis-cli also
 * needs REDISCLI_AUTH, so a healthy redis proves the secret arrived). */
static void build_standin(tl_docker *d)
{
	char *dir = tl_test_tmpdir();
	char bin[600];
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	assert_int_equal(mkdir(bin, 0755), 0);
	write_file(dir, "Dockerfile",
	           "FROM towlion-test/busybox:latest\n"
	           "COPY standin /standin\nCOPY bin/ /usr/local/bin/\n"
	           "ENTRYPOINT [\"/standin\"]\nCMD []\n",
	           0644);
	write_file(dir, "standin",
	           "#!/bin/sh\n# Stands in for a platform service process.\n"
	           "mkdir -p /www/config /www/api /www/-\n"
	           "for f in index.html config/index.html ready api/health -/healthy healthz "
	           "metrics; do echo ok > /www/$f; done\n"
	           "for p in 8080 2019 3100 3000 9090 9100; do httpd -p 127.0.0.1:$p -h /www; done\n"
	           "exec sleep 2147483647\n",
	           0755);
	const char *check = "#!/bin/sh\nexec wget -q -O /dev/null http://127.0.0.1:8080/\n";
	write_file(bin, "pg_isready", check, 0755);
	write_file(bin, "mc", check, 0755);
	write_file(bin, "redis-cli",
	           "#!/bin/sh\n[ -n \"$REDISCLI_AUTH\" ] || exit 1\n"
	           "wget -q -O /dev/null http://127.0.0.1:8080/ && echo PONG\n",
	           0755);
	tl_docker_build_spec *spec = NULL;
	tl_assert_ok(tl_docker_build_spec_new(&spec, dir));
	tl_assert_ok(tl_docker_build_spec_add_tag(spec, STANDIN_IMAGE));
	tl_assert_ok(tl_docker_image_build(NULL, d, spec));
	tl_docker_build_spec_free(spec);
	tl_test_rmdir(dir);
}

/* "service=image" for every platform service. */
static const char **standin_images(void)
{
	static char buf[16][128];
	static const char *v[17];
	size_t n = 0;
	const char *name;
	while ((name = tl_platform_service_at(n, NULL)) && n < 16) {
		snprintf(buf[n], sizeof(buf[n]), "%s=%s", name, STANDIN_IMAGE);
		v[n] = buf[n];
		n++;
	}
	v[n] = NULL;
	return v;
}

static const tl_platform_step *find_step(const tl_platform_report *r, const char *action,
                                         const char *subject)
{
	for (size_t i = 0; i < tl_platform_report_count(r); i++) {
		const tl_platform_step *s = tl_platform_report_at(r, i);
		if (!strcmp(s->action, action) && strstr(s->subject, subject))
			return s;
	}
	return NULL;
}

static void test_init_makes_the_network(void **state)
{
	char *root = tl_test_tmpdir();
	tl_ctx *ctx = harness_ctx(root);
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.root = root;
	tl_platform_report *r = NULL;
	tl_assert_ok(tl_platform_init(&r, ctx, &o));
	const tl_platform_step *s = find_step(r, "network", net);
	assert_non_null(s);
	assert_int_equal(s->changed, 1);
	tl_platform_report_free(r);
	tl_assert_ok(tl_platform_init(&r, ctx, &o));
	assert_int_equal(tl_platform_report_changed(r), 0);
	assert_string_equal(find_step(r, "network", net)->detail, "exists");
	tl_platform_report_free(r);
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	tl_assert_ok(tl_docker_network_remove(d, net));
	tl_docker_free(d);
	/* Docker unreachable: a clear failure, with the way out named. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOCKER_HOST", "unix:///nonexistent.sock"));
	tl_assert_rc(TL_EUNAVAILABLE, tl_platform_init(&r, ctx, &o));
	tl_assert_error_contains("--no-docker");
	tl_ctx_free(ctx);
	tl_test_rmdir(root);
}

static tl_docker_container *inspect(tl_docker *d, const char *svc)
{
	char name[64];
	snprintf(name, sizeof(name), "towlion-%s", svc);
	tl_docker_container *c = NULL;
	int rc = tl_docker_container_inspect(&c, d, name);
	return rc == TL_OK ? c : NULL;
}

static void test_up_and_down(void **state)
{
	char *root = tl_test_tmpdir();
	tl_ctx *ctx = harness_ctx(root);
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	build_standin(d);
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.root = root;
	o.images = standin_images();
	o.flags = TL_PLATFORM_LOGS | TL_PLATFORM_METRICS | TL_PLATFORM_NO_PORTS;
	o.timeout_ms = 90000;
	tl_platform_report *r = NULL;
	/* Containers a killed run left behind. */
	tl_assert_ok(tl_platform_down(NULL, ctx, &o));

	/* Before init there is no platform.env: refused, nothing created. */
	tl_assert_rc(TL_ENOTFOUND, tl_platform_up(&r, ctx, &o));
	tl_assert_error_contains("platform init");
	assert_null(inspect(d, "postgres"));
	tl_platform_options io = TL_PLATFORM_OPTIONS_INIT;
	io.root = root;
	tl_assert_ok(tl_platform_init(NULL, ctx, &io));

	/* Dry run: a plan, no container. */
	o.flags |= TL_PLATFORM_DRY_RUN;
	tl_assert_ok(tl_platform_up(&r, ctx, &o));
	assert_non_null(find_step(r, "create", "towlion-postgres"));
	tl_platform_report_free(r);
	assert_null(inspect(d, "postgres"));
	o.flags &= ~TL_PLATFORM_DRY_RUN;

	tl_assert_ok(tl_platform_up(&r, ctx, &o));
	size_t n = 0;
	const char *svc;
	char *envp = NULL;
	tl_envfile *env = NULL;
	/* Under the trial root, every configured path is rebased. */
	assert_non_null(envp = tl__sprintf("%s%s/state/platform.env", root, root));
	tl_assert_ok(tl_envfile_open(&env, envp, 0));
	while ((svc = tl_platform_service_at(n++, NULL))) {
		char name[64];
		snprintf(name, sizeof(name), "towlion-%s", svc);
		const tl_platform_step *s = find_step(r, "healthy", name);
		if (!s)
			fail_msg("%s did not become healthy", name);
		tl_docker_container *c = inspect(d, svc);
		assert_non_null(c);
		assert_true(tl_docker_container_running(c));
		assert_string_equal(tl_docker_container_label(c, "towlion.platform"), "1");
		assert_string_equal(tl_docker_container_label(c, "towlion.service"), svc);
		assert_string_equal(tl_docker_container_image(c), STANDIN_IMAGE);
		tl_buf js = TL_BUF_INIT;
		tl_assert_ok(tl_docker_container_json(&js, c));
		json_t *doc = json_loadb(js.ptr, js.size, 0, NULL);
		json_t *hc = json_object_get(doc, "HostConfig");
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(hc, "RestartPolicy"), "Name")),
			"unless-stopped");
		assert_true(json_integer_value(json_object_get(hc, "Memory")) > 0);
		assert_true(json_integer_value(json_object_get(hc, "NanoCpus")) > 0);
		/* Log rotation (TOWLION_LOG_MAX_SIZE/_FILE defaults). */
		json_t *lc = json_object_get(hc, "LogConfig");
		assert_string_equal(json_string_value(json_object_get(lc, "Type")), "json-file");
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(lc, "Config"), "max-size")),
			"10m");
		if (strcmp(svc, "promtail"))
			assert_string_equal(tl_docker_container_health(c), "healthy");
		if (!strcmp(svc, "postgres")) {
			/* Its data dir is bound from under the root; its password is
			 * in its environment and on no command line. */
			assert_non_null(strstr(js.ptr, root));
			const char *pw = tl_envfile_get(env, "POSTGRES_PASSWORD");
			json_t *cfg = json_object_get(doc, "Config");
			char *cmd = json_dumps(json_object_get(cfg, "Cmd"), 0);
			char *args = json_dumps(json_object_get(doc, "Args"), 0);
			assert_null(strstr(cmd ? cmd : "", pw));
			assert_null(strstr(args ? args : "", pw));
			free(cmd);
			free(args);
			char *envs = json_dumps(json_object_get(cfg, "Env"), 0);
			assert_non_null(strstr(envs, pw));
			free(envs);
		}
		json_decref(doc);
		tl_buf_dispose(&js);
		tl_docker_container_free(c);
	}
	tl_platform_report_free(r);

	/* Idempotent. */
	tl_assert_ok(tl_platform_up(&r, ctx, &o));
	assert_int_equal(tl_platform_report_changed(r), 0);
	tl_platform_report_free(r);

	/* Down in a dry run: everything still runs. */
	char *marker = tl__sprintf("%s%s/s3/marker", root, tl_ctx_config_get(ctx, "TOWLION_DATA_DIR"));
	tl_test_write_file(marker, "keep me", 0600);
	o.flags |= TL_PLATFORM_DRY_RUN;
	tl_assert_ok(tl_platform_down(&r, ctx, &o));
	assert_non_null(find_step(r, "stop", "towlion-caddy"));
	tl_platform_report_free(r);
	tl_docker_container *c = inspect(d, "caddy");
	assert_non_null(c);
	assert_true(tl_docker_container_running(c));
	tl_docker_container_free(c);
	o.flags &= ~TL_PLATFORM_DRY_RUN;

	/* Down: containers gone, data kept. */
	tl_assert_ok(tl_platform_down(&r, ctx, &o));
	assert_true(tl_platform_report_changed(r) >= 10);
	tl_platform_report_free(r);
	n = 0;
	while ((svc = tl_platform_service_at(n++, NULL)))
		assert_null(inspect(d, svc));
	char *kept = tl_test_read_file(marker);
	assert_string_equal(kept, "keep me");
	free(kept);
	tl_assert_ok(tl_platform_down(&r, ctx, &o)); /* nothing left: fine */
	assert_int_equal(tl_platform_report_changed(r), 0);
	tl_platform_report_free(r);

	free(marker);
	free(envp);
	tl_envfile_free(env);
	tl_docker_network_remove(d, net);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	tl_test_rmdir(root);
}

static bool have_promtool(void)
{
	return access("/usr/bin/promtool", X_OK) == 0;
}

static void test_metrics_show_an_app(void **state)
{
	char *root = tl_test_tmpdir();
	tl_ctx *ctx = harness_ctx(root);
	char app[32];
	snprintf(app, sizeof(app), "mtest%d", (int)getpid() % 100000);
	tl_assert_ok(tl_app_create(NULL, ctx, app, NULL));
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	/* A container as the deploy engine labels them, with a health check. */
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, "towlion-test/busybox:latest"));
	char cname[64];
	snprintf(cname, sizeof(cname), "%s-app-r1", app);
	const char *cmd[] = {"sleep", "600", NULL};
	const char *hc[] = {"CMD", "true", NULL};
	tl_assert_ok(tl_docker_container_spec_set_name(s, cname));
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, cmd));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.app", app));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.release", "r1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.service", "app"));
	tl_assert_ok(tl_docker_container_spec_set_healthcheck(s, hc, 500, 2000, 3, 0));
	tl_docker_container_remove(d, cname, TL_DOCKER_REMOVE_FORCE);
	tl_assert_ok(tl_docker_container_create(NULL, d, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(d, cname));
	for (int i = 0; i < 100; i++) {
		tl_docker_container *c = NULL;
		tl_assert_ok(tl_docker_container_inspect(&c, d, cname));
		bool ok = !strcmp(tl_docker_container_health(c), "healthy");
		tl_docker_container_free(c);
		if (ok)
			break;
		usleep(200 * 1000);
	}
	tl_buf m = TL_BUF_INIT;
	tl_assert_ok(tl_metrics_render(&m, ctx, NULL));
	char want[256];
	/* A healthy container labelled as the app is not the app up: no release
	 * of the app runs it (the figures come from what `status` says; a
	 * deployed app's are checked in integration.observability_server). */
	const char *series[] = {"towlion_app_up{app=\"%s\"} 0", "towlion_app_healthy{app=\"%s\"} 0",
	                        "towlion_app_restarts_total{app=\"%s\"} 0"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), series[i], app);
		if (!strstr(m.ptr, want))
			fail_msg("no \"%s\" in:\n%s", want, m.ptr);
	}
	assert_non_null(strstr(m.ptr, "towlion_scrape_up{source=\"docker\"} 1"));
	assert_non_null(strstr(m.ptr, "towlion_scrape_up{source=\"postgres\"} 1"));
	assert_non_null(strstr(m.ptr, "# TYPE towlion_database_size_bytes gauge"));
	if (have_promtool()) {
		char *f = tl__sprintf("%s/m.prom", root);
		tl_test_write_file(f, m.ptr, 0644);
		const char *argv[] = {"sh", "-c", "promtool check metrics < \"$0\"", f, NULL};
		tl__spawn_opts so = {.argv = argv, .stdout_mode = TL__STDIO_BUFFER,
		                     .stderr_mode = TL__STDIO_BUFFER};
		tl__spawn_result sr = {0};
		tl_assert_ok(tl__spawn(&sr, NULL, &so));
		if (sr.exit_status)
			fail_msg("promtool: %s%s", sr.out.ptr ? sr.out.ptr : "", sr.err.ptr ? sr.err.ptr : "");
		tl__spawn_result_dispose(&sr);
		free(f);
	} else if (getenv("CI")) {
		fail_msg("promtool is missing (scripts/setup installs Debian's prometheus)");
	}
	/* Stopped: down and unhealthy. */
	tl_assert_ok(tl_docker_container_stop(d, cname, 5));
	tl_assert_ok(tl_metrics_render(&m, ctx, NULL));
	snprintf(want, sizeof(want), "towlion_app_up{app=\"%s\"} 0", app);
	assert_non_null(strstr(m.ptr, want));
	snprintf(want, sizeof(want), "towlion_app_healthy{app=\"%s\"} 0", app);
	assert_non_null(strstr(m.ptr, want));
	tl_buf_dispose(&m);
	tl_docker_container_remove(d, cname, TL_DOCKER_REMOVE_FORCE);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	tl_test_rmdir(root);
}

static void test_doctor_runs_every_check(void **state)
{
	tl_ctx *ctx = harness_ctx(NULL);
	tl_doctor_report *r = NULL;
	tl_assert_ok(tl_doctor_run_with(&r, ctx, NULL));
	const char *names[] = {"directories", "docker", "postgres", "redis", "caddy", "s3",
	                       "os", "disk", "ports", "backups", "certificates", "engine", "apps"};
	assert_int_equal(tl_doctor_report_count(r), 13);
	for (size_t i = 0; i < 13; i++) {
		const tl_check *c = tl_doctor_report_at(r, i);
		print_message("%-12s %-4s %s\n", c->name, tl_check_status_name(c->status), c->detail);
		assert_string_equal(c->name, names[i]);
		assert_true(strlen(c->detail) > 0);
		assert_int_not_equal(c->status, TL_CHECK_FAIL);
	}
	tl_doctor_report_free(r);
	tl_ctx_free(ctx);
}

int main(void)
{
	snprintf(net, sizeof(net), "tl-plat-test-%d", (int)getpid());
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_makes_the_network),
		cmocka_unit_test(test_up_and_down),
		cmocka_unit_test(test_metrics_show_an_app),
		cmocka_unit_test(test_doctor_runs_every_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
