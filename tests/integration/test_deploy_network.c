/*
 * The `network` upstream mode, as on a server: Caddy runs in a container on
 * the platform network and reaches each release as <container>:<port>; its
 * admin API is published on the host's loopback only. Caddy here is the
 * host's own binary in an image (towlion-test/caddy, built by the harness).
 */
#include "tl_test.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tl_ctx *ctx;
static tl_docker *docker;
static char *dir;
static char app[32], host[64], caddy_name[64], network[64];
static int http_port;

static char *get(const char *url, const char *host_header, long *status)
{
	return tl_test_http("GET", url, host_header, NULL, status);
}

static void assert_serves(const char *expected)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", http_port);
	long status = 0;
	char *body = NULL;
	for (int i = 0; i < 30; i++) {
		free(body);
		body = get(url, host, &status);
		if (body && strstr(body, expected))
			break;
		usleep(100000);
	}
	if (!body || !strstr(body, expected))
		fail_msg("expected \"%s\" through Caddy in a container, got HTTP %ld \"%s\"", expected,
		         status, body ? body : "(nothing)");
	free(body);
}

static void write_version(const char *version)
{
	char path[700], text[64];
	snprintf(path, sizeof(path), "%s/src/hello/deploy/.env", dir);
	snprintf(text, sizeof(text), "APP_VERSION=%s\n", version);
	tl_test_write_file(path, text, 0600);
}

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	dir = tl_test_tmpdir();
	ctx = tl_test_ctx(1);
	long pid = (long)getpid();
	snprintf(app, sizeof(app), "tnet%ld", pid);
	snprintf(host, sizeof(host), "%s.towlion.test", app);
	snprintf(caddy_name, sizeof(caddy_name), "tl-test-caddy-%ld", pid);
	snprintf(network, sizeof(network), "towlion-net-%ld", pid);
	tl_assert_ok(tl_docker_open(&docker, ctx));
	const char *labels[] = {"towlion.test=1", NULL};
	tl_assert_ok(tl_docker_network_ensure(NULL, docker, network, labels));

	/* Caddy's first config: only its admin API, on the container's address. */
	char cdir[600], cmd[1200];
	snprintf(cdir, sizeof(cdir), "%s/caddy-boot", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %.500s && printf '{\\n\\tadmin 0.0.0.0:2019\\n}\\n' > %.500s/Caddyfile",
	         cdir, cdir);
	assert_int_equal(system(cmd), 0);
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, "towlion-test/caddy:latest"));
	const char *argv[] = {"caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter",
	                      "caddyfile", NULL};
	tl_assert_ok(tl_docker_container_spec_set_name(s, caddy_name));
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, argv));
	tl_assert_ok(tl_docker_container_spec_add_bind(s, cdir, "/etc/caddy", 1));
	tl_assert_ok(tl_docker_container_spec_add_env(s, "HOME", "/tmp"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "1"));
	/* How the engine finds the platform's Caddy to join it to each
	 * project's network. */
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.platform", "1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.service", "caddy"));
	tl_assert_ok(tl_docker_container_spec_set_network(s, network));
	tl_assert_ok(tl_docker_container_spec_add_port(s, 2019, "tcp", "127.0.0.1", 0));
	tl_assert_ok(tl_docker_container_spec_add_port(s, 8080, "tcp", "127.0.0.1", 0));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_assert_ok(tl_docker_container_create(NULL, docker, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(docker, caddy_name));
	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(&c, docker, caddy_name));
	int admin_port = tl_docker_container_host_port(c, "2019/tcp", NULL);
	http_port = tl_docker_container_host_port(c, "8080/tcp", NULL);
	tl_docker_container_free(c);
	assert_true(admin_port > 0 && http_port > 0);

	char v[700];
	snprintf(v, sizeof(v), "http://127.0.0.1:%d", admin_port);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN", v));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN_LISTEN", "0.0.0.0:2019"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_HTTP_PORT", "8080"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_TLS", "off"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_UPSTREAM_MODE", "network"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_NETWORK", network));
	const char *sub[] = {"state", "apps", "routes"};
	const char *keys[] = {"TOWLION_STATE_DIR", "TOWLION_APPS_DIR", "TOWLION_CADDY_DIR"};
	for (int i = 0; i < 3; i++) {
		snprintf(v, sizeof(v), "%s/%s", dir, sub[i]);
		tl_assert_ok(tl_ctx_config_set(ctx, keys[i], v));
	}
	/* The admin API answers once Caddy is up. */
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/config/", admin_port);
	long status = 0;
	for (int i = 0; i < 100 && status != 200; i++) {
		free(get(url, NULL, &status));
		if (status != 200)
			usleep(100000);
	}
	assert_int_equal(status, 200);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/src && cp -r %s/examples/apps/hello %s/src/", dir,
	         TL_TEST_SOURCE_DIR, dir);
	assert_int_equal(system(cmd), 0);
	const char *doms[] = {host, NULL};
	tl_app_options o = TL_APP_OPTIONS_INIT;
	o.domains = doms;
	o.drain_ms = 200;
	tl_assert_ok(tl_app_create(NULL, ctx, app, &o));
	return 0;
}

static int teardown(void **state)
{
	if (!ctx)
		return 0;
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	tl_app_destroy(ctx, app, &d);
	tl_docker_container_remove(docker, caddy_name, TL_DOCKER_REMOVE_FORCE);
	tl_docker_network_remove(docker, network);
	tl_docker_free(docker);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
	ctx = NULL;
	return 0;
}

static void test_network_mode_deploys_and_switches(void **state)
{
	char src[700];
	snprintf(src, sizeof(src), "%s/src/hello", dir);
	tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
	o.path = src;
	o.health_timeout_ms = 10000;
	write_version("1.0.0");
	tl_assert_ok(tl_deploy(NULL, ctx, app, &o));
	assert_serves("hello 1.0.0");
	/* Caddy reaches the container by name: nothing is published. */
	tl_app_status *st = NULL;
	tl_assert_ok(tl_app_status_get(&st, ctx, app));
	assert_true(tl_app_status_healthy(st));
	const tl_app_container *c = tl_app_status_container_at(st, 0);
	assert_non_null(c);
	assert_non_null(strstr(c->upstream, c->name));
	assert_non_null(strstr(c->upstream, ":8000"));
	tl_app_status_free(st);
	write_version("2.0.0");
	tl_assert_ok(tl_deploy(NULL, ctx, app, &o));
	assert_serves("hello 2.0.0");
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_network_mode_deploys_and_switches, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
