/* The context's configuration: defaults, derived keys, file, env, API. */
#include "tl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const all_keys[] = {
	"TOWLION_DATA_DIR", "TOWLION_APPS_DIR", "TOWLION_STATE_DIR", "TOWLION_DOCKER_HOST",
	"TOWLION_NETWORK", "TOWLION_UPSTREAM_MODE", "TOWLION_PG_URL", "TOWLION_PG_APP_HOST",
	"TOWLION_REDIS_URL", "TOWLION_REDIS_APP_HOST", "TOWLION_CADDY_ADMIN",
	"TOWLION_CADDY_ADMIN_LISTEN", "TOWLION_CADDY_DIR", "TOWLION_DOMAIN", "TOWLION_PREVIEW_DOMAIN", "TOWLION_TLS",
	"TOWLION_HTTP_PORT", "TOWLION_HTTPS_PORT", "TOWLION_ACME_EMAIL",
	"TOWLION_BACKUP_DIR", "TOWLION_BACKUP_KEY", "TOWLION_BACKUP_KEEP_DAYS",
	"TOWLION_BACKUP_KEEP_LAST", "TOWLION_S3_ENDPOINT", "TOWLION_S3_REGION",
	"TOWLION_S3_ACCESS_KEY", "TOWLION_S3_SECRET_KEY", "TOWLION_S3_APP_ENDPOINT",
	"TOWLION_BACKUP_REMOTE", "TOWLION_S3_ADMIN_API", "TOWLION_S3_IAM_ENDPOINT",
	"TOWLION_BACKUP_S3_ACCESS_KEY", "TOWLION_BACKUP_S3_SECRET_KEY",
	"TOWLION_GITHUB_TOKEN", "TOWLION_GITHUB_API", "TOWLION_GITHUB_USER", "TOWLION_SCAN_COMMAND", "TOWLION_SCAN_POLICY", "TOWLION_PREVIEW_MAX",
	"TOWLION_PREVIEW_CPUS", "TOWLION_PREVIEW_MEMORY", "TOWLION_ALERT_REPO", "TOWLION_ALERT_MAIL",
	"TOWLION_ALERT_MAIL_ENDPOINT", "TOWLION_ALERT_MAIL_TOKEN", "TOWLION_ALERT_MAIL_FROM",
	"TOWLION_ALERT_MAIL_TO",
	"TOWLION_PG_TOOLS", /* backups, issue 16 */
	/* observability (issue 16) */
	"TOWLION_LOG_MAX_SIZE", "TOWLION_LOG_MAX_FILE", "TOWLION_PLATFORM_PROFILES",
	"TOWLION_ENGINE", /* cluster, issue 19 */
	"TOWLION_REGISTRY_PORT", "TOWLION_REGISTRY_DIR", "TOWLION_REGISTRY_IMAGE",
	"TOWLION_REGISTRY_RELAY_IMAGE", /* the cluster's registry, issue 19 */
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++)
		unsetenv(all_keys[i]);
}

static tl_ctx *ctx_from(const char *path, unsigned flags)
{
	tl_ctx_options o = TL_CTX_OPTIONS_INIT;
	o.config_path = path;
	o.flags = flags;
	tl_ctx *ctx = NULL;
	tl_assert_ok(tl_ctx_new(&ctx, &o));
	return ctx;
}

static void test_defaults(void **state)
{
	clear_env();
	tl_ctx *ctx = ctx_from(NULL, TL_CTX_NO_CONFIG_FILE);
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_DATA_DIR"), "/data");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_STATE_DIR"), "/data/towlion");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_CADDY_DIR"), "/data/caddy");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_BACKUP_DIR"),
	                    "/data/backups/postgres");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_DOCKER_HOST"),
	                    "unix:///var/run/docker.sock");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_TLS"), "auto");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_DOMAIN"), "");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_PREVIEW_DOMAIN"), "");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_BACKUP_KEEP_DAYS"), "7");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_ENGINE"), "docker");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_REGISTRY_PORT"), "5000");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_REGISTRY_DIR"), "/data/registry");
	assert_null(tl_ctx_config_get(ctx, "TOWLION_NOPE"));
	assert_null(tl_ctx_config_get(NULL, "TOWLION_DATA_DIR"));
	assert_null(tl_ctx_config_path(ctx));
	/* Every key of the design's table is known. */
	assert_int_equal(tl_config_key_count(), sizeof(all_keys) / sizeof(all_keys[0]));
	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++)
		assert_non_null(tl_ctx_config_get(ctx, all_keys[i]));
	tl_ctx_free(ctx);
}

static void test_derived_follow_base(void **state)
{
	clear_env();
	tl_ctx *ctx = ctx_from(NULL, TL_CTX_NO_CONFIG_FILE);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DATA_DIR", "/srv/towlion"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOMAIN", "example.com"));
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_STATE_DIR"), "/srv/towlion/towlion");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_PREVIEW_DOMAIN"), "example.com");
	/* A key set itself no longer follows its base. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", "/var/lib/towlion"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DATA_DIR", "/mnt"));
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_STATE_DIR"), "/var/lib/towlion");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_CADDY_DIR"), "/mnt/caddy");
	tl_ctx_free(ctx);
}

static void test_file_then_env(void **state)
{
	clear_env();
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/towlion.conf", dir);
	tl_test_write_file(path,
	                   "# server config\n"
	                   "TOWLION_DOMAIN=example.com\n"
	                   "TOWLION_DATA_DIR=/srv/data\n"
	                   "TOWLION_TLS=internal\n"
	                   "TOWLION_S3_SECRET_KEY=\"very secret\"\n"
	                   "TOWLION_PG_URL=postgresql://postgres:pgpass@127.0.0.1:5432/postgres\n",
	                   0600);
	setenv("TOWLION_TLS", "off", 1);
	tl_ctx *ctx = ctx_from(path, 0);
	assert_string_equal(tl_ctx_config_path(ctx), path);
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_DOMAIN"), "example.com");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_STATE_DIR"), "/srv/data/towlion");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_TLS"), "off"); /* env wins */
	const char *k, *v, *d;
	int src;
	for (size_t i = 0; i < tl_config_key_count(); i++) {
		tl_assert_ok(tl_ctx_config_at(ctx, i, 0, &k, &v, &d, &src));
		assert_true(strlen(d) > 5);
		if (!strcmp(k, "TOWLION_TLS"))
			assert_int_equal(src, TL_CONFIG_FROM_ENV);
		if (!strcmp(k, "TOWLION_DOMAIN"))
			assert_int_equal(src, TL_CONFIG_FROM_FILE);
		if (!strcmp(k, "TOWLION_NETWORK"))
			assert_int_equal(src, TL_CONFIG_FROM_DEFAULT);
		if (!strcmp(k, "TOWLION_S3_SECRET_KEY"))
			assert_string_equal(v, "(set)");
		if (!strcmp(k, "TOWLION_PG_URL"))
			assert_string_equal(v, "postgresql://postgres:***@127.0.0.1:5432/postgres");
	}
	tl_assert_rc(TL_ENOTFOUND, tl_ctx_config_at(ctx, 999, 0, &k, NULL, NULL, NULL));
	/* With reveal the secret is shown. */
	for (size_t i = 0; i < tl_config_key_count(); i++) {
		tl_ctx_config_at(ctx, i, 1, &k, &v, NULL, NULL);
		if (!strcmp(k, "TOWLION_S3_SECRET_KEY"))
			assert_string_equal(v, "very secret");
	}
	tl_ctx_free(ctx);
	/* TL_CTX_NO_ENV ignores the environment. */
	ctx = ctx_from(path, TL_CTX_NO_ENV);
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_TLS"), "internal");
	tl_ctx_free(ctx);
	unsetenv("TOWLION_TLS");
	tl_test_rmdir(dir);
}

typedef struct {
	const char *content;
	int code;
	const char *needle;
} bad_file;

static const bad_file bad_files[] = {
	{"TOWLION_DOMAIN=example.com\nTOWLION_DOMIAN=typo.com\n", TL_EINVALID,
	 ":2: unknown key TOWLION_DOMIAN"},
	{"\n\nTOWLION_TLS=yes\n", TL_EINVALID, ":3: TOWLION_TLS=\"yes\": must be auto"},
	{"TOWLION_HTTP_PORT=0\n", TL_EINVALID, "port number"},
	{"TOWLION_HTTPS_PORT=70000\n", TL_EINVALID, "port number"},
	{"TOWLION_UPSTREAM_MODE=host\n", TL_EINVALID, "network or loopback"},
	{"TOWLION_ENGINE=kubernetes\n", TL_EINVALID, "must be docker or swarm"},
	{"TOWLION_BACKUP_KEEP_DAYS=-1\n", TL_EINVALID, "whole number"},
	/* what strtol/strtod let through: signs, trailing text, exponents, hex,
	 * inf, a wrapped or a multi-line value */
	{"TOWLION_BACKUP_KEEP_LAST=3x\n", TL_EINVALID, "TOWLION_BACKUP_KEEP_LAST=\"3x\": must be a whole"},
	{"TOWLION_BACKUP_KEEP_LAST=+3\n", TL_EINVALID, "whole number"},
	{"TOWLION_BACKUP_KEEP_DAYS=18446744073709551617\n", TL_EINVALID, "whole number"},
	{"TOWLION_PREVIEW_MAX=1e3\n", TL_EINVALID, "TOWLION_PREVIEW_MAX"},
	{"TOWLION_PREVIEW_MAX=\"5\n}\"\n", TL_EINVALID, "cannot contain a newline"},
	{"TOWLION_PREVIEW_CPUS=0x10\n", TL_EINVALID, "number of CPUs"},
	{"TOWLION_PREVIEW_CPUS=inf\n", TL_EINVALID, "number of CPUs"},
	{"TOWLION_PREVIEW_CPUS=-0.5\n", TL_EINVALID, "number of CPUs"},
	{"TOWLION_PREVIEW_MEMORY=-5\n", TL_EINVALID, "TOWLION_PREVIEW_MEMORY"},
	{"TOWLION_PREVIEW_MEMORY=512mb!\n", TL_EINVALID, "TOWLION_PREVIEW_MEMORY"},
	{"TOWLION_HTTP_PORT=80x\n", TL_EINVALID, "port number"},
	{"TOWLION_HTTPS_PORT=+443\n", TL_EINVALID, "port number"},
	{"TOWLION_REGISTRY_PORT=+5000\n", TL_EINVALID, "TOWLION_REGISTRY_PORT=\"+5000\": must be a port"},
	{"TOWLION_REGISTRY_PORT=5000x\n", TL_EINVALID, "port number"},
	{"TOWLION_DOMAIN=Bad_Domain\n", TL_EINVALID, "TOWLION_DOMAIN"},
	{"TOWLION_DATA_DIR=relative/path\n", TL_EINVALID, "absolute path"},
	{"TOWLION_DOMAIN='unterminated\n", TL_EINVALID, ":1:16: unterminated"},
	{"PATH=/bin\n", TL_EINVALID, "unknown key PATH"},
};

static void test_bad_files(void **state)
{
	clear_env();
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/towlion.conf", dir);
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		tl_test_write_file(path, bad_files[i].content, 0600);
		tl_ctx_options o = TL_CTX_OPTIONS_INIT;
		o.config_path = path;
		tl_ctx *ctx = (tl_ctx *)0x1;
		tl_assert_rc(bad_files[i].code, tl_ctx_new(&ctx, &o));
		assert_ptr_equal(ctx, (tl_ctx *)0x1); /* untouched on failure */
		tl_assert_error_contains(bad_files[i].needle);
		tl_assert_error_contains(path);
	}
	/* An explicitly named file must exist; the default one may be absent. */
	tl_ctx_options o = TL_CTX_OPTIONS_INIT;
	tl_ctx *ctx = NULL;
	o.config_path = "/nonexistent/towlion.conf";
	tl_assert_rc(TL_ENOTFOUND, tl_ctx_new(&ctx, &o));
	tl_assert_error_contains("/nonexistent/towlion.conf");
	/* Bad values from the environment name the variable. */
	setenv("TOWLION_HTTP_PORT", "eighty", 1);
	o.config_path = NULL;
	o.flags = TL_CTX_NO_CONFIG_FILE;
	tl_assert_rc(TL_EINVALID, tl_ctx_new(&ctx, &o));
	tl_assert_error_contains("environment variable TOWLION_HTTP_PORT");
	unsetenv("TOWLION_HTTP_PORT");
	tl_test_rmdir(dir);
}

static void test_api_set_and_options(void **state)
{
	clear_env();
	tl_ctx *ctx = ctx_from(NULL, TL_CTX_NO_CONFIG_FILE);
	tl_assert_rc(TL_EINVALID, tl_ctx_config_set(ctx, "TOWLION_NOPE", "x"));
	tl_assert_rc(TL_EINVALID, tl_ctx_config_set(ctx, "TOWLION_TLS", "maybe"));
	tl_assert_rc(TL_EINVALID, tl_ctx_config_set(ctx, "TOWLION_DOMAIN", "a\nb.com"));
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_TLS"), "auto");
	tl_assert_rc(TL_EINVALID, tl_ctx_config_set(NULL, "TOWLION_TLS", "off"));
	tl_ctx_free(ctx);

	tl_ctx_options o;
	tl_assert_ok(tl_ctx_options_init(&o, TL_CTX_OPTIONS_VERSION));
	assert_int_equal(o.version, TL_CTX_OPTIONS_VERSION);
	assert_null(o.config_path);
	tl_assert_rc(TL_EINVALID, tl_ctx_options_init(&o, 99));
	o.version = 0;
	tl_assert_rc(TL_EINVALID, tl_ctx_new(&ctx, &o));
	tl_assert_rc(TL_EINVALID, tl_ctx_new(NULL, NULL));
}

/* docs/configuration.md documents every key. */
static void test_docs_list_every_key(void **state)
{
	char *doc = tl_test_read_file(TL_TEST_SOURCE_DIR "/docs/configuration.md");
	assert_non_null(doc);
	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "`%s`", all_keys[i]);
		if (!strstr(doc, needle))
			fail_msg("docs/configuration.md does not document %s", all_keys[i]);
	}
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_derived_follow_base),
		cmocka_unit_test(test_file_then_env),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_api_set_and_options),
		cmocka_unit_test(test_docs_list_every_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
