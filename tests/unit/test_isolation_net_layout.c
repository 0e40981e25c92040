/*
 * Networks, without services (docs/security.md, "Networks"): the compose
 * reader refuses the shared services' names, and the platform compose
 * file keeps the internals off the shared network, Caddy's admin API on
 * a socket only, and gives each service only its own secrets.
 */
#include "tl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int load(const char *yaml, int policy, const char *dir)
{
	tl_compose_options o = TL_COMPOSE_OPTIONS_INIT;
	o.policy = policy;
	o.app_dir = dir;
	tl_compose *c = NULL;
	int rc = tl_compose_parse(&c, yaml, strlen(yaml), "docker-compose.yml", dir, &o);
	tl_compose_free(c);
	return rc;
}

static void test_reserved_service_names(void **state)
{
	char *dir = tl_test_tmpdir();
	const char *names[] = {"postgres", "redis", "s3", "storage", "minio", "Postgres", "REDIS"};
	const int policies[] = {TL_COMPOSE_TRUSTED, TL_COMPOSE_STRICT};
	for (size_t p = 0; p < 2; p++)
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char yaml[300];
			snprintf(yaml, sizeof(yaml),
			         "services:\n  app:\n    image: x\n  %s:\n    image: y\n", names[i]);
			tl_assert_rc(TL_EINVALID, load(yaml, policies[p], dir));
			tl_assert_error_contains("is reserved");
			tl_assert_error_contains("docker-compose.yml:4");
		}
	tl_assert_error_contains("the shared Redis");
	/* Names that only look alike are the app's own. */
	tl_assert_ok(load("services:\n  app:\n    image: x\n  postgres-worker:\n    image: y\n"
	                  "  my-redis:\n    image: z\n",
	                  TL_COMPOSE_STRICT, dir));
	tl_test_rmdir(dir);
}

static char *block_of(const char *text, const char *service)
{
	char head[64];
	snprintf(head, sizeof(head), "\n  %s:\n", service);
	const char *b = strstr(text, head);
	assert_non_null(b);
	const char *e = strstr(b + strlen(head), "\n  ");
	while (e && e[3] == ' ')
		e = strstr(e + 1, "\n  ");
	return strndup(b, e ? (size_t)(e - b) : strlen(b));
}

static void test_platform_compose_networks_and_secrets(void **state)
{
	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = tl_test_ctx(0);
	char v[600];
	snprintf(v, sizeof(v), "%s/data", dir);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DATA_DIR", v));
	snprintf(v, sizeof(v), "%s/apps", dir);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_APPS_DIR", v));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOMAIN", "example.com"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_NETWORK", "tlx"));
	snprintf(v, sizeof(v), "unix://%s/data/towlion/caddy-admin/admin.sock", dir);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN", v));
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.flags = TL_PLATFORM_NO_DOCKER;
	tl_platform_report *r = NULL;
	tl_assert_ok(tl_platform_init(&r, ctx, &o));
	tl_platform_report_free(r);
	char file[700];
	snprintf(file, sizeof(file), "%s/platform.yml", dir);
	o.flags = 0;
	tl_assert_ok(tl_platform_compose_write(NULL, ctx, file, &o));
	char *text = tl_test_read_file(file);

	/* Networks: the internals on the internal one only, Caddy on both. */
	assert_non_null(strstr(text, "  internal:\n    internal: true\n    name: \"tlx-internal\""));
	const char *internal[] = {"loki", "promtail", "grafana", "prometheus", "cadvisor",
	                          "node-exporter"};
	for (size_t i = 0; i < 6; i++) {
		char *b = block_of(text, internal[i]);
		if (!strstr(b, "networks: [internal]\n") && !strstr(b, "networks: [internal]"))
			fail_msg("%s is not on the internal network only:\n%s", internal[i], b);
		free(b);
	}
	const char *shared[] = {"postgres", "redis", "s3"};
	for (size_t i = 0; i < 3; i++) {
		char *b = block_of(text, shared[i]);
		assert_non_null(strstr(b, "networks: [towlion]"));
		free(b);
	}
	char *caddy = block_of(text, "caddy");
	assert_non_null(strstr(caddy, "networks: [towlion, internal]"));
	/* Caddy's admin API: the socket's directory, no port 2019. */
	assert_null(strstr(caddy, "2019"));
	snprintf(v, sizeof(v), "%s/data/towlion/caddy-admin:%s/data/towlion/caddy-admin", dir, dir);
	assert_non_null(strstr(caddy, v));
	free(caddy);

	/* Secrets: each service its own file with only its keys. */
	const struct {
		const char *svc, *has, *lacks;
	} want[] = {{"postgres", "POSTGRES_PASSWORD=", "REDIS_PASSWORD"},
	            {"redis", "REDIS_PASSWORD=", "POSTGRES_PASSWORD"},
	            {"s3", "AWS_SECRET_ACCESS_KEY=", "GRAFANA"},
	            {"grafana", "GF_SECURITY_ADMIN_PASSWORD=", "POSTGRES_PASSWORD"}};
	for (size_t i = 0; i < 4; i++) {
		char path[800];
		snprintf(path, sizeof(path), "%s/data/towlion/platform-env/%s.env", dir, want[i].svc);
		char *env = tl_test_read_file(path);
		assert_non_null(env);
		assert_non_null(strstr(env, want[i].has));
		assert_null(strstr(env, want[i].lacks));
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		free(env);
		char *b = block_of(text, want[i].svc);
		assert_non_null(strstr(b, path));
		assert_null(strstr(b, "platform.env"));
		free(b);
	}
	assert_null(strstr(text, "platform.env\""));
	free(text);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserved_service_names),
		cmocka_unit_test(test_platform_compose_networks_and_secrets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
