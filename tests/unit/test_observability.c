/*
 * Observability without services: which services each profile
 * combination runs (the table, the config key, and the compose file as
 * Debian's docker-compose reads it), Grafana's provisioning files as a
 * YAML parser (python3-yaml) and Grafana's JSON model read them, the log
 * rotation in a container spec and in the compose file, and the metrics
 * textfile. Grafana, Loki and Promtail are not in Debian: their files are
 * checked by parsing, not by running them.
 */
#include "tl_test.h"

#include "core/core.h"
#include "docker/logrotate.h"
#include "platform/platform_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Run argv; the exit status, stdout into *out when not NULL. */
static int run(tl_buf *out, const char *const *argv, const char *const *env)
{
	tl__spawn_opts o = {.argv = argv, .env = env, .stdout_mode = TL__STDIO_BUFFER,
	                    .stderr_mode = TL__STDIO_BUFFER, .timeout_ms = 60000};
	tl__spawn_result r = {0};
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	if (!r.exited || r.exit_status)
		print_message("%s: exit %d: %s%s\n", argv[0], r.exit_status,
		              r.out.ptr ? r.out.ptr : "", r.err.ptr ? r.err.ptr : "");
	int st = r.exited ? r.exit_status : 128 + r.signal;
	if (out) {
		tl_buf_dispose(out);
		*out = r.out;
		r.out = (tl_buf)TL_BUF_INIT;
	}
	tl__spawn_result_dispose(&r);
	return st;
}

static tl_ctx *ctx_for(const char *data)
{
	tl_ctx *ctx = tl_test_ctx(0);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DATA_DIR", data));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_APPS_DIR", "/srv/obs/apps"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOCKER_HOST", "unix:///nonexistent.sock"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL",
	                               "postgresql://postgres@127.0.0.1:1/postgres"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOMAIN", "example.com"));
	return ctx;
}

/* The services a profile set runs, space-separated, in table order. */
static char *services_for(tl_ctx *ctx, unsigned flags)
{
	unsigned profiles = 0;
	tl_assert_ok(tl__plat_profiles(&profiles, ctx, flags));
	tl_buf b = TL_BUF_INIT;
	for (size_t i = 0; i < tl__plat_nservices; i++)
		if (tl__plat_service_wanted(&tl__plat_services[i], profiles))
			tl__buf_printf(&b, "%s%s", b.size ? " " : "", tl__plat_services[i].name);
	return tl__buf_detach(&b);
}

static void test_profiles_choose_the_services(void **state)
{
	tl_ctx *ctx = ctx_for("/srv/obs/data");
	const struct {
		const char *key;
		unsigned flags;
		const char *want;
	} cases[] = {
		{"", 0, "postgres redis s3 caddy"},
		{"", TL_PLATFORM_LOGS, "postgres redis s3 caddy loki promtail grafana"},
		{"", TL_PLATFORM_METRICS,
		 "postgres redis s3 caddy grafana prometheus cadvisor node-exporter"},
		{"", TL_PLATFORM_LOGS | TL_PLATFORM_METRICS,
		 "postgres redis s3 caddy loki promtail grafana prometheus cadvisor node-exporter"},
		{"logs", 0, "postgres redis s3 caddy loki promtail grafana"},
		{"metrics", 0, "postgres redis s3 caddy grafana prometheus cadvisor node-exporter"},
		{"logs,metrics", 0,
		 "postgres redis s3 caddy loki promtail grafana prometheus cadvisor node-exporter"},
		/* the flag adds to the key */
		{"logs", TL_PLATFORM_METRICS,
		 "postgres redis s3 caddy loki promtail grafana prometheus cadvisor node-exporter"},
		{" metrics , ", 0, "postgres redis s3 caddy grafana prometheus cadvisor node-exporter"},
	};
	for (size_t i = 0; i < TL__ARRAY_SIZE(cases); i++) {
		tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PLATFORM_PROFILES", cases[i].key));
		char *got = services_for(ctx, cases[i].flags);
		if (strcmp(got, cases[i].want))
			fail_msg("profiles \"%s\" + flags %u: %s, want %s", cases[i].key,
			         cases[i].flags, got, cases[i].want);
		free(got);
	}
	/* An unknown profile is refused, named, before anything is done. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PLATFORM_PROFILES", "logs,tracing"));
	unsigned p = 99;
	tl_assert_rc(TL_EINVALID, tl__plat_profiles(&p, ctx, 0));
	tl_assert_error_contains("\"tracing\"");
	assert_int_equal(p, 99);
	tl_platform_report *r = NULL;
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.flags = TL_PLATFORM_DRY_RUN;
	tl_assert_rc(TL_EINVALID, tl_platform_up(&r, ctx, &o));
	assert_null(r);
	tl_ctx_free(ctx);
}

/* The `profiles:` docker-compose reads for a service, as "a,b" ("" when
 * none), from its normalised `config`. */
static char *profiles_of(const char *config, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "\n  %s:\n", name);
	const char *b = strstr(config, key);
	assert_non_null(b);
	b += strlen(key);
	const char *e = b;
	while (*e && !(e[0] == '\n' && e[1] == ' ' && e[2] == ' ' && e[3] != ' '))
		e++;
	tl_buf out = TL_BUF_INIT;
	const char *p = strstr(b, "\n    profiles:\n");
	if (p && p < e)
		for (p += strlen("\n    profiles:\n"); !strncmp(p, "    - ", 6);) {
			size_t n = strcspn(p + 6, "\n");
			tl__buf_printf(&out, "%s%.*s", out.size ? "," : "", (int)n, p + 6);
			p += 6 + n + 1;
		}
	if (!out.ptr)
		tl__buf_puts(&out, "");
	return tl__buf_detach(&out);
}

static void test_compose_profiles_and_logging(void **state)
{
	char *dir = tl_test_tmpdir();
	char data[600], file[700];
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(file, sizeof(file), "%s/platform.yml", dir);
	tl_ctx *ctx = ctx_for(data);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_LOG_MAX_SIZE", "5m"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_LOG_MAX_FILE", "2"));
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.flags = TL_PLATFORM_NO_DOCKER;
	tl_assert_ok(tl_platform_init(NULL, ctx, &o));
	tl_assert_ok(tl_platform_compose_write(NULL, ctx, file, NULL));
	char *text = tl_test_read_file(file);
	assert_non_null(strstr(text, "COMPOSE_PROFILES=logs,metrics"));
	/* Grafana waits for neither profile's store (one may be off). */
	char *g = strstr(text, "\n  grafana:\n"), *g_end = g ? strstr(g, "\n  prometheus:\n") : NULL;
	assert_non_null(g_end);
	*g_end = '\0';
	assert_null(strstr(g, "depends_on"));
	*g_end = '\n';
	tl_buf cfg = TL_BUF_INIT;
	const char *argv[] = {"docker-compose", "-f", file, "config", NULL};
	if (run(&cfg, argv, NULL) != 0) {
		if (getenv("CI"))
			fail_msg("docker-compose config failed or is missing");
		skip();
	}
	const char *want[][2] = {
		{"postgres", ""},       {"redis", ""},
		{"s3", ""},             {"caddy", ""},
		{"loki", "logs"},       {"promtail", "logs"},
		{"grafana", "logs,metrics"}, {"prometheus", "metrics"},
		{"cadvisor", "metrics"}, {"node-exporter", "metrics"},
	};
	for (size_t i = 0; i < TL__ARRAY_SIZE(want); i++) {
		char *got = profiles_of(cfg.ptr, want[i][0]);
		if (strcmp(got, want[i][1]))
			fail_msg("%s: profiles [%s], want [%s]", want[i][0], got, want[i][1]);
		free(got);
	}
	/* Every service: json-file with the configured limits. */
	size_t n = 0;
	for (const char *p = cfg.ptr; (p = strstr(p, "logging:\n      driver: json-file\n"
	                                               "      options:\n        max-file: '2'\n"
	                                               "        max-size: 5m\n"));
	     p++)
		n++;
	assert_int_equal(n, tl__plat_nservices);
	/* Grafana's provisioning and node-exporter's textfile dir, read-only. */
	char expect[900];
	snprintf(expect, sizeof(expect), "%s/grafana-provisioning:/etc/grafana/provisioning:ro",
	         data);
	assert_non_null(strstr(cfg.ptr, expect));
	snprintf(expect, sizeof(expect), "%s/node-exporter/textfile:/textfile:ro", data);
	assert_non_null(strstr(cfg.ptr, expect));
	assert_non_null(strstr(cfg.ptr, "--collector.textfile.directory=/textfile"));
	/* Grafana knows the address it is routed at (links, redirects). */
	assert_non_null(strstr(cfg.ptr, "GF_SERVER_ROOT_URL: https://grafana.example.com/"));
	tl_buf_dispose(&cfg);
	free(text);

	/* A malformed limit: a clear error, no file written. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_LOG_MAX_SIZE", "10 MB"));
	char other[700];
	snprintf(other, sizeof(other), "%s/other.yml", dir);
	tl_assert_rc(TL_EINVALID, tl_platform_compose_write(NULL, ctx, other, NULL));
	tl_assert_error_contains("TOWLION_LOG_MAX_SIZE");
	struct stat st;
	assert_int_not_equal(stat(other, &st), 0);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

/* Parses the provisioning files as Grafana would read them. */
static const char check_provisioning_py[] =
	"import json, sys, yaml\n"
	"ds = yaml.safe_load(open(sys.argv[1]))\n"
	"assert ds['apiVersion'] == 1, ds\n"
	"by = {d['type']: d for d in ds['datasources']}\n"
	"assert by['loki']['url'] == 'http://loki:3100', by\n"
	"assert by['prometheus']['url'] == 'http://prometheus:9090', by\n"
	"assert sum(1 for d in ds['datasources'] if d.get('isDefault')) == 1\n"
	"assert all(d['access'] == 'proxy' and d['editable'] is False for d in ds['datasources'])\n"
	"pv = yaml.safe_load(open(sys.argv[2]))\n"
	"[p] = pv['providers']\n"
	"assert p['type'] == 'file' and p['options']['path'] == '/var/lib/towlion-dashboards', p\n"
	"db = json.load(open(sys.argv[3]))\n"
	"uids = {d['uid'] for d in ds['datasources']}\n"
	"assert db['uid'] == 'towlion-platform'\n"
	"for panel in db['panels']:\n"
	"    assert panel['datasource']['uid'] in uids, panel\n"
	"    assert panel['targets'][0]['expr'], panel\n"
	"exprs = ' '.join(p['targets'][0]['expr'] for p in db['panels'])\n"
	"assert 'towlion_app_healthy' in exprs and '{job=\"containers\"}' in exprs, exprs\n"
	"print('ok')\n";

static void test_grafana_provisioning_files(void **state)
{
	char *dir = tl_test_tmpdir();
	char data[600];
	snprintf(data, sizeof(data), "%s/data", dir);
	tl_ctx *ctx = ctx_for(data);
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.flags = TL_PLATFORM_NO_DOCKER | TL_PLATFORM_DRY_RUN;
	/* Dry run: planned, nothing made. */
	tl_platform_report *r = NULL;
	tl_assert_ok(tl_platform_init(&r, ctx, &o));
	tl_platform_report_free(r);
	struct stat st;
	assert_int_not_equal(stat(data, &st), 0);
	o.flags = TL_PLATFORM_NO_DOCKER;
	tl_assert_ok(tl_platform_init(NULL, ctx, &o));
	char ds[700], pv[700], db[700], tf[700];
	snprintf(ds, sizeof(ds), "%s/grafana-provisioning/datasources/towlion.yaml", data);
	snprintf(pv, sizeof(pv), "%s/grafana-provisioning/dashboards/towlion.yaml", data);
	snprintf(db, sizeof(db), "%s/grafana-dashboards/towlion-platform.json", data);
	snprintf(tf, sizeof(tf), "%s/node-exporter/textfile", data);
	const char *argv[] = {"/usr/bin/python3", "-c", check_provisioning_py, ds, pv, db, NULL};
	tl_buf out = TL_BUF_INIT;
	assert_int_equal(run(&out, argv, NULL), 0);
	assert_string_equal(out.ptr, "ok\n");
	tl_buf_dispose(&out);
	/* Grafana (uid 472) and node-exporter (nobody) read them. */
	assert_int_equal(stat(ds, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(stat(tf, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	/* Again: nothing changes. A hand edit is put back (towlion's files). */
	tl_assert_ok(tl_platform_init(&r, ctx, &o));
	assert_int_equal(tl_platform_report_changed(r), 0);
	tl_platform_report_free(r);
	tl_test_write_file(ds, "apiVersion: 1\ndatasources: []\n", 0644);
	tl_assert_ok(tl_platform_init(&r, ctx, &o));
	assert_int_equal(tl_platform_report_changed(r), 1);
	tl_platform_report_free(r);
	assert_int_equal(run(NULL, argv, NULL), 0);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

static void test_log_config_in_container_spec(void **state)
{
	tl_ctx *ctx = ctx_for("/srv/obs/data");
	tl_docker_container_spec *sp = NULL;
	tl_buf js = TL_BUF_INIT;
	/* The defaults: 10m, 3 files. */
	tl_assert_ok(tl_docker_container_spec_new(&sp, "busybox:local"));
	tl_assert_ok(tl__docker_spec_rotate_logs(sp, ctx));
	tl_assert_ok(tl_docker_container_spec_json(&js, sp));
	json_t *doc = json_loads(js.ptr, 0, NULL);
	json_t *lc = json_object_get(json_object_get(doc, "HostConfig"), "LogConfig");
	assert_string_equal(json_string_value(json_object_get(lc, "Type")), "json-file");
	json_t *c = json_object_get(lc, "Config");
	assert_string_equal(json_string_value(json_object_get(c, "max-size")), "10m");
	assert_string_equal(json_string_value(json_object_get(c, "max-file")), "3");
	json_decref(doc);
	tl_docker_container_spec_free(sp);

	/* Off: the daemon's own logging stays. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_LOG_MAX_SIZE", "0"));
	tl_assert_ok(tl_docker_container_spec_new(&sp, "busybox:local"));
	tl_assert_ok(tl__docker_spec_rotate_logs(sp, ctx));
	tl_assert_ok(tl_docker_container_spec_json(&js, sp));
	assert_null(strstr(js.ptr, "LogConfig"));
	tl_docker_container_spec_free(sp);

	/* Bad values: refused with the key named, the spec untouched. */
	const char *bad[][2] = {{"TOWLION_LOG_MAX_SIZE", "10MB"}, {"TOWLION_LOG_MAX_SIZE", "-1m"},
	                        {"TOWLION_LOG_MAX_SIZE", "m"},    {"TOWLION_LOG_MAX_SIZE", "010m"},
	                        {"TOWLION_LOG_MAX_FILE", "0"},    {"TOWLION_LOG_MAX_FILE", "3x"},
	                        {"TOWLION_LOG_MAX_FILE", "1000"}};
	for (size_t i = 0; i < TL__ARRAY_SIZE(bad); i++) {
		tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_LOG_MAX_SIZE", "10m"));
		tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_LOG_MAX_FILE", "3"));
		tl_assert_ok(tl_ctx_config_set(ctx, bad[i][0], bad[i][1]));
		tl_assert_ok(tl_docker_container_spec_new(&sp, "busybox:local"));
		tl_assert_rc(TL_EINVALID, tl__docker_spec_rotate_logs(sp, ctx));
		tl_assert_error_contains(bad[i][0]);
		tl_assert_ok(tl_docker_container_spec_json(&js, sp));
		assert_null(strstr(js.ptr, "LogConfig"));
		tl_docker_container_spec_free(sp);
	}
	/* The setter itself checks its options. */
	tl_assert_ok(tl_docker_container_spec_new(&sp, "busybox:local"));
	const char *opts[] = {"max-size", NULL};
	tl_assert_rc(TL_EINVALID, tl_docker_container_spec_set_log(sp, "json-file", opts));
	tl_assert_rc(TL_EINVALID, tl_docker_container_spec_set_log(sp, "", NULL));
	tl_docker_container_spec_free(sp);
	tl_buf_dispose(&js);
	tl_ctx_free(ctx);
}

static void test_metrics_textfile(void **state)
{
	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = ctx_for(dir);
	tl_buf path = TL_BUF_INIT;
	tl_assert_ok(tl_metrics_write_textfile(&path, ctx, dir, NULL));
	char want[600];
	snprintf(want, sizeof(want), "%s/towlion.prom", dir);
	assert_string_equal(path.ptr, want);
	struct stat st;
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	char *text = tl_test_read_file(want);
	/* Docker and PostgreSQL are dead here: said so, not failed. */
	assert_non_null(strstr(text, "towlion_scrape_up{source=\"docker\"} 0"));
	free(text);
	/* No temporary file left beside it (the collector reads *.prom). */
	tl_buf ls = TL_BUF_INIT;
	const char *argv[] = {"ls", "-A", dir, NULL};
	assert_int_equal(run(&ls, argv, NULL), 0);
	assert_string_equal(ls.ptr, "towlion.prom\n");
	tl_buf_dispose(&ls);
	/* Bad directories: clear errors, nothing written. */
	tl_assert_rc(TL_EINVALID, tl_metrics_write_textfile(NULL, ctx, "relative/dir", NULL));
	snprintf(want, sizeof(want), "%s/missing", dir);
	tl_assert_rc(TL_ENOTFOUND, tl_metrics_write_textfile(NULL, ctx, want, NULL));
	tl_assert_error_contains("--collector.textfile.directory");
	snprintf(want, sizeof(want), "%s/towlion.prom", dir);
	tl_assert_rc(TL_ENOTFOUND, tl_metrics_write_textfile(NULL, ctx, want, NULL));
	tl_buf_dispose(&path);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles_choose_the_services),
		cmocka_unit_test(test_compose_profiles_and_logging),
		cmocka_unit_test(test_grafana_provisioning_files),
		cmocka_unit_test(test_log_config_in_container_spec),
		cmocka_unit_test(test_metrics_textfile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
